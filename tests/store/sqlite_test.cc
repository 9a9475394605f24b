#include "store/sqlite.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tollgate::store {
namespace {

std::int64_t count(Database& db) {
    std::int64_t n = -1;
    EXPECT_TRUE(transact(db, [&]() -> core::Status {
                    Statement st(db, "SELECT count(*) FROM t");
                    st.step();
                    n = st.column_int64(0);
                    return {};
                }).ok());
    return n;
}

TEST(SqliteTest, OpensInWalMode) {
    testing::TempDir dir;
    auto db = Database::open(dir.file("a.db")).value();
    std::string mode;
    ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                    Statement st(*db, "PRAGMA journal_mode");
                    st.step();
                    mode = st.column_text(0);
                    return {};
                }).ok());
    EXPECT_EQ(mode, "wal");
}

TEST(SqliteTest, NestedTransactionsCommitTogether) {
    testing::TempDir dir;
    auto db = Database::open(dir.file("a.db")).value();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER NOT NULL CHECK (x > 0))").ok());
    core::Status s = transact(*db, [&]() -> core::Status {
        Statement(*db, "INSERT INTO t VALUES (1)").run();
        // The inner part fails: the outer insert must roll back too.
        core::Status inner = transact(*db, [&]() -> core::Status {
            Statement(*db, "INSERT INTO t VALUES (-1)").run();
            return {};
        });
        return inner;
    });
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "storage_error");
    EXPECT_EQ(count(*db), 0);

    ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                    Statement(*db, "INSERT INTO t VALUES (1)").run();
                    return transact(*db, [&]() -> core::Status {
                        Statement(*db, "INSERT INTO t VALUES (2)").run();
                        return {};
                    });
                }).ok());
    EXPECT_EQ(count(*db), 2);
}

TEST(SqliteTest, ErrorStatusRollsBack) {
    testing::TempDir dir;
    auto db = Database::open(dir.file("a.db")).value();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)").ok());
    core::Status s = transact(*db, [&]() -> core::Status {
        Statement(*db, "INSERT INTO t VALUES (1)").run();
        return core::make_error("nope", "domain refused");
    });
    EXPECT_EQ(s.error().code, "nope");
    EXPECT_EQ(count(*db), 0);
}

}  // namespace
}  // namespace tollgate::store
