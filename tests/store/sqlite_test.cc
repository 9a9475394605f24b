#include "store/sqlite.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>

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

std::string pragma(Database& db, const std::string& name) {
    std::string value;
    EXPECT_TRUE(transact(db, [&]() -> core::Status {
                    Statement st(db, "PRAGMA " + name);
                    st.step();
                    value = st.column_text(0);
                    return {};
                }).ok());
    return value;
}

// Every behaviour here holds with and without group commit.
class SqliteTest : public ::testing::TestWithParam<bool> {
  protected:
    std::unique_ptr<Database> open_db() {
        Database::Options options;
        options.group_commit = GetParam();
        return Database::open(dir_.file("a.db"), options).value();
    }
    testing::TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(CommitModes, SqliteTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& mode) {
                             return mode.param ? std::string("Grouped") : std::string("Alone");
                         });

TEST_P(SqliteTest, OpensInWalModeWithFullSyncAndForeignKeys) {
    auto db = open_db();
    EXPECT_EQ(db->group_commit(), GetParam());
    EXPECT_EQ(pragma(*db, "journal_mode"), "wal");
    EXPECT_EQ(pragma(*db, "synchronous"), "2");  // FULL
    EXPECT_EQ(pragma(*db, "foreign_keys"), "1");
    EXPECT_EQ(pragma(*db, "temp_store"), "2");  // MEMORY: no temporary files
}

TEST_P(SqliteTest, NestedTransactionsCommitTogether) {
    auto db = open_db();
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

TEST_P(SqliteTest, ErrorStatusRollsBack) {
    auto db = open_db();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)").ok());
    core::Status s = transact(*db, [&]() -> core::Status {
        Statement(*db, "INSERT INTO t VALUES (1)").run();
        return core::make_error("nope", "domain refused");
    });
    EXPECT_EQ(s.error().code, "nope");
    EXPECT_EQ(count(*db), 0);
}

TEST_P(SqliteTest, CaughtSqliteErrorStillFailsTheTransaction) {
    auto db = open_db();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER NOT NULL CHECK (x > 0))").ok());
    core::Status s = transact(*db, [&]() -> core::Status {
        Statement(*db, "INSERT INTO t VALUES (1)").run();
        try {
            Statement(*db, "INSERT INTO t VALUES (-1)").run();
        } catch (const SqliteError&) {
        }
        return {};
    });
    EXPECT_EQ(s.error().code, "storage_error");
    EXPECT_EQ(count(*db), 0);
}

TEST_P(SqliteTest, ThrownExceptionReachesTheCallerAndRollsBack) {
    auto db = open_db();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)").ok());
    EXPECT_THROW((void)transact(*db,
                                [&]() -> core::Status {
                                    Statement(*db, "INSERT INTO t VALUES (1)").run();
                                    throw std::runtime_error("bug");
                                }),
                 std::runtime_error);
    EXPECT_EQ(count(*db), 0);
    // The database, and its committer, still serve.
    ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                    Statement(*db, "INSERT INTO t VALUES (2)").run();
                    return {};
                }).ok());
    EXPECT_EQ(count(*db), 1);
}

TEST_P(SqliteTest, CommittedRowSurvivesReopen) {
    {
        auto db = open_db();
        ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)").ok());
        ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                        Statement(*db, "INSERT INTO t VALUES (7)").run();
                        return {};
                    }).ok());
    }
    auto db = open_db();
    EXPECT_EQ(count(*db), 1);
}

TEST_P(SqliteTest, CommittedRowIsVisibleToAnotherConnectionOnReturn) {
    auto db = open_db();
    auto other = open_db();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)").ok());
    for (int i = 1; i <= 3; ++i) {
        ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                        Statement(*db, "INSERT INTO t VALUES (?1)").bind(1, std::int64_t{i}).run();
                        return {};
                    }).ok());
        EXPECT_EQ(count(*other), i);
    }
}

TEST_P(SqliteTest, CommitAloneRunsOnTheCallingThreadAndCommitsByItself) {
    auto db = open_db();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)").ok());
    Database::Stats before = db->stats();
    std::thread::id ran_on;
    ASSERT_TRUE(transact(
                    *db,
                    [&]() -> core::Status {
                        ran_on = std::this_thread::get_id();
                        Statement(*db, "INSERT INTO t VALUES (1)").run();
                        return {};
                    },
                    Commit::Alone)
                    .ok());
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    EXPECT_EQ(db->stats().batches, before.batches + 1);
    EXPECT_EQ(db->stats().operations, before.operations + 1);
    EXPECT_EQ(count(*db), 1);
}

// A statement is compiled once per SQL text and reused: its bindings are
// cleared and it is reset (no read transaction kept open) when given back.
TEST_P(SqliteTest, StatementsAreReusedResetAndUnbound) {
    auto db = open_db();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)").ok());
    constexpr const char* kInsert = "INSERT INTO t VALUES (?1)";
    std::size_t idle_after_first = 0;
    for (std::int64_t x = 1; x <= 3; ++x) {
        ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                        Statement(*db, kInsert).bind(1, x).run();
                        return {};
                    }).ok());
        // The insert and the transaction's own BEGIN/SAVEPOINT/COMMIT are
        // compiled by the first transaction and reused by the others.
        if (x == 1) idle_after_first = db->idle_statements_for_test();
        EXPECT_GE(idle_after_first, 2u);
        EXPECT_EQ(db->idle_statements_for_test(), idle_after_first);
    }
    // The reused statement lost its binding: x is NULL.
    ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                    Statement(*db, kInsert).run();
                    return {};
                }).ok());
    std::int64_t nulls = -1;
    ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                    Statement st(*db, "SELECT count(*) FROM t WHERE x IS NULL");
                    st.step();
                    nulls = st.column_int64(0);
                    return {};
                }).ok());
    EXPECT_EQ(nulls, 1);
    // Two in use at once: two compiled statements, both kept afterwards.
    ASSERT_TRUE(transact(*db, [&]() -> core::Status {
                    Statement a(*db, "SELECT x FROM t ORDER BY x");
                    Statement b(*db, "SELECT x FROM t ORDER BY x");
                    EXPECT_TRUE(a.step());
                    EXPECT_TRUE(b.step());
                    return {};
                }).ok());
    // A half-read statement went back reset: a write from another connection
    // is not blocked by it and is seen by the next read.
    EXPECT_EQ(count(*db), 4);
    auto other = Database::open(db->path(), Database::Options{false, 1}).value();
    ASSERT_TRUE(other->exec("INSERT INTO t VALUES (9)").ok());
    EXPECT_EQ(count(*db), 5);
}

}  // namespace
}  // namespace tollgate::store

namespace tollgate::store {
namespace {

// A reader beside the writer (reports): it sees what committed, takes no
// write lock while it reads, and cannot write.
TEST(SqliteReaderTest, AReadOnlyConnectionReadsCommitsWithoutHoldingUpTheWriter) {
    testing::TempDir dir;
    auto writer = Database::open(dir.file("a.db")).value();
    ASSERT_TRUE(writer->exec("CREATE TABLE t (x INTEGER)").ok());
    Database::Options options;
    options.group_commit = false;
    options.read_only = true;
    auto reader = Database::open(dir.file("a.db"), options).value();
    EXPECT_EQ(count(*reader), 0);
    // The writer commits while the reader is inside a read transaction.
    std::int64_t seen_inside = -1;
    ASSERT_TRUE(transact(*reader, [&]() -> core::Status {
                    Statement st(*reader, "SELECT count(*) FROM t");
                    st.step();
                    seen_inside = st.column_int64(0);
                    EXPECT_TRUE(transact(*writer, [&]() -> core::Status {
                                    Statement(*writer, "INSERT INTO t VALUES (1)").run();
                                    return {};
                                }).ok());
                    return {};
                }).ok());
    EXPECT_EQ(seen_inside, 0);
    EXPECT_EQ(count(*reader), 1);
    auto wrote = transact(*reader, [&]() -> core::Status {
        Statement(*reader, "INSERT INTO t VALUES (2)").run();
        return {};
    });
    EXPECT_FALSE(wrote.ok());
    EXPECT_EQ(count(*writer), 1);
    auto missing = Database::open(dir.file("none.db"), options);
    EXPECT_FALSE(missing.ok());  // never created
}

}  // namespace
}  // namespace tollgate::store
