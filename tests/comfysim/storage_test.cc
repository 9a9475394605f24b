#include "comfysim/storage.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace tollgate::comfysim {
namespace {

UploadRequest upload(std::string name, std::string data, std::string subfolder = "") {
    UploadRequest r;
    r.filename = std::move(name);
    r.data = std::move(data);
    r.subfolder = std::move(subfolder);
    return r;
}

TEST(StorageTest, UploadDedupesSameBytesAndRenamesDifferentBytes) {
    testing::TempDir tmp;
    Storage s(tmp.path());
    Reply a = s.upload(upload("person_bw.png", "AAA", "gw/6f1c"));
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(a.body,
              Json({{"name", "person_bw.png"}, {"subfolder", "gw/6f1c"}, {"type", "input"}}));
    EXPECT_EQ(s.upload(upload("person_bw.png", "AAA", "gw/6f1c")).body["name"], "person_bw.png");
    EXPECT_EQ(s.upload(upload("person_bw.png", "BBB", "gw/6f1c")).body["name"],
              "person_bw (1).png");
    EXPECT_EQ(s.upload(upload("person_bw.png", "CCC", "gw/6f1c")).body["name"],
              "person_bw (2).png");
    EXPECT_EQ(s.upload(upload("person_bw.png", "BBB", "gw/6f1c")).body["name"],
              "person_bw (1).png");
    EXPECT_TRUE(s.image_exists("gw/6f1c/person_bw (2).png"));
    EXPECT_FALSE(s.image_exists("gw/6f1c/person_bw (3).png"));
}

TEST(StorageTest, OverwriteReplacesInPlace) {
    testing::TempDir tmp;
    Storage s(tmp.path());
    ASSERT_EQ(s.upload(upload("a.png", "one")).status, 200);
    UploadRequest r = upload("a.png", "two");
    r.overwrite = "true";
    EXPECT_EQ(s.upload(r).body["name"], "a.png");
    const ViewTarget t = s.locate_view("a.png", std::string("input"), std::nullopt);
    ASSERT_EQ(t.status, 200);
    EXPECT_EQ(std::filesystem::file_size(t.path), 3u);
}

TEST(StorageTest, UploadErrors) {
    testing::TempDir tmp;
    Storage s(tmp.path());
    UploadRequest no_file;
    EXPECT_EQ(s.upload(no_file).status, 400);
    EXPECT_EQ(s.upload(upload("", "x")).status, 400);
    EXPECT_EQ(s.upload(upload("a.png", "x", "../escape")).status, 400);
    EXPECT_EQ(s.upload(upload("a.png", "x", "/etc")).status, 400);
    EXPECT_EQ(s.upload(upload("../a.png", "x")).status, 400);
    UploadRequest bad_type = upload("a.png", "x");
    bad_type.type = "models";
    EXPECT_EQ(s.upload(bad_type).status, 500);
    UploadRequest temp = upload("a.png", "x");
    temp.type = "temp";
    EXPECT_EQ(s.upload(temp).body["type"], "temp");
    EXPECT_TRUE(std::filesystem::exists(tmp.path() / "temp" / "a.png"));
}

TEST(StorageTest, ViewRejectsTraversal) {
    testing::TempDir tmp;
    Storage s(tmp.path());
    testing::write_file(tmp.path() / "output" / "ddcolor" / "person_00001_.png", "png");
    testing::write_file(tmp.path() / "secret.txt", "secret");
    EXPECT_EQ(s.locate_view("person_00001_.png", std::nullopt, std::string("ddcolor")).status, 200);
    EXPECT_EQ(s.locate_view("../secret.txt", std::nullopt, std::nullopt).status, 400);
    EXPECT_EQ(s.locate_view("/etc/passwd", std::nullopt, std::nullopt).status, 400);
    EXPECT_EQ(s.locate_view("a..b.png", std::nullopt, std::nullopt).status, 400);
    EXPECT_EQ(s.locate_view("secret.txt", std::nullopt, std::string("..")).status, 403);
    EXPECT_EQ(s.locate_view("secret.txt", std::nullopt, std::string("/")).status, 403);
    EXPECT_EQ(s.locate_view("x.png", std::string("models"), std::nullopt).status, 400);
    EXPECT_EQ(s.locate_view("missing.png", std::nullopt, std::nullopt).status, 404);
    EXPECT_EQ(
        s.locate_view("person_00001_.png [output]", std::string("input"), std::string("ddcolor"))
            .status,
        200);
}

TEST(StorageTest, SaveCounterContinuesPastExistingFiles) {
    testing::TempDir tmp;
    Storage s(tmp.path());
    auto first = s.next_save_target("ddcolor/person", FolderType::Output);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->filename, "person_00001_.png");
    EXPECT_EQ(first->subfolder, "ddcolor");
    testing::write_file(tmp.path() / "output" / "ddcolor" / "person_00007_.png", "x");
    testing::write_file(tmp.path() / "output" / "ddcolor" / "personal_00042_.png", "x");
    EXPECT_EQ(s.next_save_target("ddcolor/person", FolderType::Output)->filename,
              "person_00008_.png");
    auto flat = s.next_save_target("person", FolderType::Output);
    EXPECT_EQ(flat->subfolder, "");
    EXPECT_FALSE(s.next_save_target("../outside/x", FolderType::Output).ok());
}

TEST(StorageTest, AnnotatedNamesPickTheFolder) {
    testing::TempDir tmp;
    Storage s(tmp.path());
    testing::write_file(tmp.path() / "output" / "x.png", "x");
    EXPECT_TRUE(s.image_exists("x.png [output]"));
    EXPECT_FALSE(s.image_exists("x.png"));
    EXPECT_FALSE(s.image_exists("../output/x.png"));
}

}  // namespace
}  // namespace tollgate::comfysim
