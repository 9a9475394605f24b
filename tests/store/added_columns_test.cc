#include "store/added_columns.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace tollgate::store {
namespace {

constexpr AddedColumn kColumns[] = {
    {"tenant", "TEXT NOT NULL DEFAULT ''"},
    {"attempts", "INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0)"},
};

class AddedColumnsTest : public ::testing::Test {
  protected:
    void SetUp() override { db_ = Database::open(dir_.file("a.db")).value(); }

    std::vector<std::string> columns_of(const std::string& table) {
        std::vector<std::string> names;
        EXPECT_TRUE(transact(*db_, [&]() -> core::Status {
                        Statement st(*db_, "SELECT name FROM pragma_table_info(?1)");
                        st.bind(1, table);
                        while (st.step()) names.push_back(st.column_text(0));
                        return {};
                    }).ok());
        return names;
    }

    testing::TempDir dir_;
    std::unique_ptr<Database> db_;
};

TEST_F(AddedColumnsTest, AnOlderTableGainsTheColumnsWithTheirDefaults) {
    // A file from before the columns existed, with a row in it.
    ASSERT_TRUE(db_->exec("CREATE TABLE jobs (id TEXT PRIMARY KEY); "
                          "INSERT INTO jobs(id) VALUES ('old')")
                    .ok());
    ASSERT_TRUE(add_missing_columns(*db_, "jobs", kColumns).ok());
    EXPECT_EQ(columns_of("jobs"), (std::vector<std::string>{"id", "tenant", "attempts"}));
    std::string tenant;
    std::int64_t attempts = -1;
    ASSERT_TRUE(transact(*db_, [&]() -> core::Status {
                    Statement st(*db_, "SELECT tenant, attempts FROM jobs WHERE id = 'old'");
                    EXPECT_TRUE(st.step());
                    tenant = st.column_text(0);
                    attempts = st.column_int64(1);
                    return {};
                }).ok());
    EXPECT_EQ(tenant, "");
    EXPECT_EQ(attempts, 1);
    // The definition came along: its CHECK holds for new rows.
    EXPECT_FALSE(db_->exec("INSERT INTO jobs(id, attempts) VALUES ('bad', -1)").ok());
}

TEST_F(AddedColumnsTest, ColumnsAlreadyThereAreLeftAndOpeningTwiceIsHarmless) {
    ASSERT_TRUE(db_->exec("CREATE TABLE jobs (id TEXT PRIMARY KEY, tenant TEXT)").ok());
    ASSERT_TRUE(add_missing_columns(*db_, "jobs", kColumns).ok());
    ASSERT_TRUE(add_missing_columns(*db_, "jobs", kColumns).ok());
    EXPECT_EQ(columns_of("jobs"), (std::vector<std::string>{"id", "tenant", "attempts"}));
}

TEST_F(AddedColumnsTest, AMissingTableIsAnError) {
    auto s = add_missing_columns(*db_, "nowhere", kColumns);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "storage_error");
    EXPECT_TRUE(columns_of("nowhere").empty());
}

}  // namespace
}  // namespace tollgate::store
