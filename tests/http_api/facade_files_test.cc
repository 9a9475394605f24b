// What the facade keeps per account: uploads under ComfyUI's naming rules,
// never outside the account's directory, and the prompts /history lists.
#include "http/api/facade/facade_files.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "support/temp_dir.h"

namespace tollgate::http::facade {
namespace {

class FacadeFilesTest : public ::testing::Test {
  protected:
    tollgate::testing::TempDir dir_;
    FacadeFiles files_{dir_.path() / "facade"};
};

TEST_F(FacadeFilesTest, SameNameSameBytesKeepsTheNameOtherBytesAreNumbered) {
    auto first = files_.put_upload("acct_a", "", "photo.png", "one", false);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first->name, "photo.png");
    EXPECT_EQ(files_.put_upload("acct_a", "", "photo.png", "one", false)->name, "photo.png");
    EXPECT_EQ(files_.put_upload("acct_a", "", "photo.png", "two", false)->name, "photo (1).png");
    EXPECT_EQ(files_.put_upload("acct_a", "", "photo.png", "three", false)->name, "photo (2).png");
    EXPECT_EQ(files_.put_upload("acct_a", "", "photo.png", "two", false)->name, "photo (1).png");
    EXPECT_EQ(*files_.read_upload("acct_a", "photo (2).png"), "three");
    // overwrite replaces in place.
    EXPECT_EQ(files_.put_upload("acct_a", "", "photo.png", "four", true)->name, "photo.png");
    EXPECT_EQ(*files_.read_upload("acct_a", "photo.png"), "four");
}

TEST_F(FacadeFilesTest, SubfoldersAndTheInputAnnotation) {
    auto stored = files_.put_upload("acct_a", "gw/job1", "x.png", "bytes", false);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->subfolder, "gw/job1");
    EXPECT_EQ(*files_.read_upload("acct_a", "gw/job1/x.png"), "bytes");
    EXPECT_EQ(*files_.read_upload("acct_a", "gw/job1/x.png [input]"), "bytes");
    EXPECT_EQ(files_.read_upload("acct_a", "x.png").error().code, "upload_not_found");
}

TEST_F(FacadeFilesTest, AccountsNeverSeeEachOthersUploads) {
    ASSERT_TRUE(files_.put_upload("acct_a", "", "mine.png", "secret", false).ok());
    EXPECT_EQ(files_.read_upload("acct_b", "mine.png").error().code, "upload_not_found");
    EXPECT_EQ(files_.read_upload("acct_b", "../acct_a/inputs/mine.png").error().code,
              "invalid_upload");
}

TEST_F(FacadeFilesTest, NamesThatCouldEscapeAreRefused) {
    for (const char* name : {"", "..", ".hidden", "a/b.png", "a\\b.png", "c:x.png",
                             "x.png [output]", " lead.png", "trail.png ", "tab\t.png"}) {
        auto r = files_.put_upload("acct_a", "", name, "x", false);
        ASSERT_FALSE(r.ok()) << name;
        EXPECT_EQ(r.error().code, "invalid_upload") << name;
    }
    for (const char* sub : {"/abs", "..", "a/../b", "a//b", "a/", "a/b/c/d/e", ".git"}) {
        auto r = files_.put_upload("acct_a", sub, "x.png", "x", false);
        ASSERT_FALSE(r.ok()) << sub;
        EXPECT_EQ(r.error().code, "invalid_upload") << sub;
    }
    EXPECT_FALSE(files_.put_upload("acct_a", "", std::string(201, 'a'), "x", false).ok());
    EXPECT_EQ(files_.read_upload("acct_a", "/etc/passwd").error().code, "invalid_upload");
    EXPECT_EQ(files_.read_upload("acct_a", "../../x").error().code, "invalid_upload");
}

TEST_F(FacadeFilesTest, AnAccountKeepsItsNewestUploadsOnly) {
    char name[32];
    for (std::size_t i = 0; i <= kUploadsPerAccountMax; ++i) {
        std::snprintf(name, sizeof name, "f%05zu.png", i);
        ASSERT_TRUE(files_.put_upload("acct_a", i % 2 ? "odd" : "", name, "x", false).ok());
    }
    EXPECT_EQ(files_.read_upload("acct_a", "f00000.png").error().code, "upload_not_found");
    EXPECT_TRUE(files_.read_upload("acct_a", "odd/f00001.png").ok());
    std::snprintf(name, sizeof name, "f%05zu.png", kUploadsPerAccountMax);
    EXPECT_TRUE(files_.read_upload("acct_a", name).ok());
}

TEST_F(FacadeFilesTest, PromptsAreListedOldestFirstNewestKept) {
    for (const char* id : {"job_03", "job_01", "job_02"}) {
        ASSERT_TRUE(files_.put_prompt("acct_a", id, {{"prompt_id", id}}).ok());
    }
    EXPECT_EQ(*files_.prompt_ids("acct_a", 10),
              (std::vector<std::string>{"job_01", "job_02", "job_03"}));
    EXPECT_EQ(*files_.prompt_ids("acct_a", 2), (std::vector<std::string>{"job_02", "job_03"}));
    EXPECT_TRUE(files_.prompt_ids("acct_b", 10)->empty());
    auto record = files_.get_prompt("acct_a", "job_02");
    ASSERT_TRUE(record.ok() && record->has_value());
    EXPECT_EQ((**record)["prompt_id"], "job_02");
    EXPECT_FALSE(files_.get_prompt("acct_b", "job_02")->has_value());
    EXPECT_FALSE(files_.get_prompt("acct_a", "../acct_b/x")->has_value());
}

}  // namespace
}  // namespace tollgate::http::facade
