// Group commit: concurrent transact() calls share one COMMIT, while each
// operation stays atomic, isolated from its batch neighbours, and in order.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite.h"
#include "support/temp_dir.h"

namespace tollgate::store {
namespace {

class GroupCommitTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = Database::open(dir_.file("g.db")).value();
        ASSERT_TRUE(db_->group_commit());
        ASSERT_TRUE(db_->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, who INTEGER NOT NULL, "
                              "seq INTEGER NOT NULL, x INTEGER NOT NULL DEFAULT 1 CHECK (x > 0))")
                        .ok());
    }

    core::Status insert(std::int64_t who, std::int64_t seq) {
        return transact(*db_, [&]() -> core::Status {
            Statement(*db_, "INSERT INTO t(who, seq) VALUES (?1, ?2)")
                .bind(1, who)
                .bind(2, seq)
                .run();
            return {};
        });
    }

    // The writers (who) of the rows in the table, in insertion order.
    std::vector<std::int64_t> writers() {
        std::vector<std::int64_t> out;
        EXPECT_TRUE(transact(*db_, [&]() -> core::Status {
                        Statement st(*db_, "SELECT who FROM t ORDER BY id");
                        while (st.step()) out.push_back(st.column_int64(0));
                        return {};
                    }).ok());
        return out;
    }

    testing::TempDir dir_;
    std::unique_ptr<Database> db_;
};

// Holds the committer inside one operation until release(), so that the
// operations queued meanwhile all form the next batch, in a known order.
class CommitterGate {
  public:
    explicit CommitterGate(Database& db)
        : thread_([this, &db] {
              status_ = transact(db, [this]() -> core::Status {
                  entered_.count_down();
                  released_.wait();
                  return {};
              });
          }) {
        entered_.wait();
    }
    ~CommitterGate() {
        if (thread_.joinable()) release();
    }
    void release() {
        released_.count_down();
        thread_.join();
        EXPECT_TRUE(status_.ok());
    }

  private:
    std::latch entered_{1};
    std::latch released_{1};
    core::Status status_;
    std::thread thread_;
};

// Starts one caller thread per op, each op making one outermost transact()
// call; a caller starts only once the previous one has queued, so the queue
// order is the order of `ops`.
class QueuedOps {
  public:
    QueuedOps(Database& db, std::vector<std::function<core::Status()>> ops) : results_(ops.size()) {
        for (std::size_t i = 0; i < ops.size(); ++i) {
            threads_.emplace_back([this, &db, i, op = std::move(ops[i])] {
                try {
                    results_[i] = op();
                } catch (const std::runtime_error& e) {
                    results_[i] = core::make_error("thrown", e.what());
                }
            });
            db.wait_until_queued_for_test(i + 1);
        }
    }
    const core::Status& result(std::size_t i) {
        join();
        return results_[i];
    }
    void join() {
        for (std::thread& t : threads_) {
            if (t.joinable()) t.join();
        }
    }
    ~QueuedOps() { join(); }

  private:
    std::vector<core::Status> results_;
    std::vector<std::thread> threads_;
};

TEST_F(GroupCommitTest, ConcurrentOperationsAllCommitInFewerBatches) {
    constexpr int kThreads = 8;
    constexpr int kOpsPerThread = 100;
    Database::Stats before = db_->stats();
    std::vector<int> delivered(kThreads, 0);
    std::vector<std::thread> threads;
    for (int who = 0; who < kThreads; ++who) {
        threads.emplace_back([&, who] {
            for (int seq = 0; seq < kOpsPerThread; ++seq) {
                // Every third operation is refused: its error, carrying its
                // own identity, must come back to this caller.
                std::string me = std::to_string(who) + "/" + std::to_string(seq);
                core::Status s = transact(*db_, [&]() -> core::Status {
                    Statement(*db_, "INSERT INTO t(who, seq) VALUES (?1, ?2)")
                        .bind(1, std::int64_t{who})
                        .bind(2, std::int64_t{seq})
                        .run();
                    if (seq % 3 == 2) return core::make_error("refused", me);
                    return {};
                });
                bool mine = seq % 3 == 2 ? !s.ok() && s.error().message == me : s.ok();
                if (mine) ++delivered[static_cast<std::size_t>(who)];
            }
        });
    }
    for (std::thread& t : threads) t.join();
    Database::Stats after = db_->stats();

    for (int d : delivered) EXPECT_EQ(d, kOpsPerThread);
    // Per writer, exactly the accepted operations are there, in issue order.
    std::int64_t rows = 0;
    for (int who = 0; who < kThreads; ++who) {
        std::vector<std::int64_t> seqs;
        ASSERT_TRUE(transact(*db_, [&]() -> core::Status {
                        Statement st(*db_, "SELECT seq FROM t WHERE who = ?1 ORDER BY id");
                        st.bind(1, std::int64_t{who});
                        while (st.step()) seqs.push_back(st.column_int64(0));
                        return {};
                    }).ok());
        std::vector<std::int64_t> expected;
        for (int seq = 0; seq < kOpsPerThread; ++seq) {
            if (seq % 3 != 2) expected.push_back(seq);
        }
        EXPECT_EQ(seqs, expected) << "writer " << who;
        rows += static_cast<std::int64_t>(seqs.size());
    }
    std::uint64_t applied = after.operations - before.operations;
    std::uint64_t batches = after.batches - before.batches;
    EXPECT_EQ(applied, static_cast<std::uint64_t>(rows));
    EXPECT_LT(batches, applied) << "no two operations shared a commit";
}

TEST_F(GroupCommitTest, OperationsQueuedDuringACommitFormOneBatch) {
    Database::Stats before = db_->stats();
    {
        CommitterGate gate(*db_);
        std::vector<std::function<core::Status()>> ops;
        for (int i = 0; i < 5; ++i) ops.push_back([this, i] { return insert(100 + i, 0); });
        QueuedOps queued(*db_, std::move(ops));
        gate.release();
        for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(queued.result(i).ok());
    }
    Database::Stats after = db_->stats();
    EXPECT_EQ(after.batches - before.batches, 2u);  // the gate's, then the five
    EXPECT_EQ(after.operations - before.operations, 6u);
    // They applied in arrival order.
    EXPECT_EQ(writers(), (std::vector<std::int64_t>{100, 101, 102, 103, 104}));
}

TEST_F(GroupCommitTest, BatchIsBoundedByBatchOperationsMax) {
    Database::Options options;
    options.batch_operations_max = 2;
    auto db = Database::open(dir_.file("bounded.db"), options).value();
    ASSERT_TRUE(db->exec("CREATE TABLE u (x INTEGER)").ok());
    Database::Stats before = db->stats();
    {
        CommitterGate gate(*db);
        std::vector<std::function<core::Status()>> ops;
        for (int i = 0; i < 5; ++i) {
            ops.push_back([&db] {
                return transact(*db, [&]() -> core::Status {
                    Statement(*db, "INSERT INTO u VALUES (1)").run();
                    return {};
                });
            });
        }
        QueuedOps queued(*db, std::move(ops));
        gate.release();
        queued.join();
    }
    Database::Stats after = db->stats();
    EXPECT_EQ(after.batches - before.batches, 4u);  // the gate's, then 2 + 2 + 1
    EXPECT_EQ(after.operations - before.operations, 6u);
}

TEST_F(GroupCommitTest, FailingOperationIsRolledBackAloneInItsBatch) {
    Database::Stats before = db_->stats();
    {
        CommitterGate gate(*db_);
        QueuedOps queued(
            *db_, {[this] { return insert(1, 0); },
                   // A domain refusal after a write.
                   [this] {
                       return transact(*db_, [&]() -> core::Status {
                           Statement(*db_, "INSERT INTO t(who, seq) VALUES (2, 0)").run();
                           return core::make_error("refused", "two");
                       });
                   },
                   [this] { return insert(3, 0); },
                   // A constraint violation after a write.
                   [this] {
                       return transact(*db_, [&]() -> core::Status {
                           Statement(*db_, "INSERT INTO t(who, seq) VALUES (4, 0)").run();
                           Statement(*db_, "INSERT INTO t(who, seq, x) VALUES (4, 1, -1)").run();
                           return {};
                       });
                   },
                   // A bug: the exception reaches its own caller.
                   [this]() -> core::Status {
                       return transact(*db_, [&]() -> core::Status {
                           Statement(*db_, "INSERT INTO t(who, seq) VALUES (5, 0)").run();
                           throw std::runtime_error("five");
                       });
                   },
                   [this] { return insert(6, 0); }});
        gate.release();
        EXPECT_TRUE(queued.result(0).ok());
        EXPECT_EQ(queued.result(1).error().code, "refused");
        EXPECT_TRUE(queued.result(2).ok());
        EXPECT_EQ(queued.result(3).error().code, "storage_error");
        EXPECT_EQ(queued.result(4).error().code, "thrown");
        EXPECT_EQ(queued.result(4).error().message, "five");
        EXPECT_TRUE(queued.result(5).ok());
    }
    Database::Stats after = db_->stats();
    EXPECT_EQ(writers(), (std::vector<std::int64_t>{1, 3, 6}));
    EXPECT_EQ(after.batches - before.batches, 2u);
    EXPECT_EQ(after.operations - before.operations, 4u);  // the gate, 1, 3 and 6
    EXPECT_EQ(after.operations_failed - before.operations_failed, 3u);
}

TEST_F(GroupCommitTest, NestedTransactJoinsTheOperation) {
    Database::Stats before = db_->stats();
    std::thread::id outer;
    std::thread::id inner;
    ASSERT_TRUE(transact(*db_, [&]() -> core::Status {
                    outer = std::this_thread::get_id();
                    Statement(*db_, "INSERT INTO t(who, seq) VALUES (1, 0)").run();
                    return transact(*db_, [&]() -> core::Status {
                        inner = std::this_thread::get_id();
                        Statement(*db_, "INSERT INTO t(who, seq) VALUES (1, 1)").run();
                        return {};
                    });
                }).ok());
    // Both ran on the committer, in one operation of one batch.
    EXPECT_EQ(outer, inner);
    EXPECT_NE(outer, std::this_thread::get_id());
    EXPECT_EQ(db_->stats().batches - before.batches, 1u);
    EXPECT_EQ(db_->stats().operations - before.operations, 1u);
    EXPECT_EQ(writers(), (std::vector<std::int64_t>{1, 1}));
}

TEST_F(GroupCommitTest, FailingNestedTransactFailsOnlyItsOperation) {
    {
        CommitterGate gate(*db_);
        QueuedOps queued(
            *db_, {[this] { return insert(1, 0); },
                   [this] {
                       return transact(*db_, [&]() -> core::Status {
                           Statement(*db_, "INSERT INTO t(who, seq) VALUES (2, 0)").run();
                           core::Status nested = transact(*db_, [&]() -> core::Status {
                               Statement(*db_, "INSERT INTO t(who, seq) VALUES (2, 1)").run();
                               return core::make_error("refused", "nested");
                           });
                           // Even ignoring the nested failure cannot
                           // commit half of the operation.
                           (void)nested;
                           return {};
                       });
                   },
                   [this] { return insert(3, 0); }});
        gate.release();
        EXPECT_TRUE(queued.result(0).ok());
        EXPECT_EQ(queued.result(1).error().code, "storage_error");
        EXPECT_TRUE(queued.result(2).ok());
    }
    EXPECT_EQ(writers(), (std::vector<std::int64_t>{1, 3}));
}

TEST_F(GroupCommitTest, FailedCommitFailsEveryOperationOfTheBatch) {
    {
        CommitterGate gate(*db_);
        QueuedOps queued(*db_, {[this] { return insert(1, 0); },
                                [this] {
                                    return transact(*db_, [&]() -> core::Status {
                                        return core::make_error("refused", "two");
                                    });
                                },
                                [this] { return insert(3, 0); }});
        db_->fail_next_commit_for_test();
        gate.release();
        for (std::size_t i = 0; i < 3; ++i) {
            EXPECT_EQ(queued.result(i).error().code, "storage_error") << i;
        }
    }
    EXPECT_TRUE(writers().empty());
    // The next batch commits normally.
    ASSERT_TRUE(insert(4, 0).ok());
    EXPECT_EQ(writers(), (std::vector<std::int64_t>{4}));
}

TEST_F(GroupCommitTest, DanglingDeferredForeignKeyFailsOnlyItsOperation) {
    ASSERT_TRUE(db_->exec("CREATE TABLE parent (id INTEGER PRIMARY KEY); "
                          "CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent(id) "
                          "DEFERRABLE INITIALLY DEFERRED)")
                    .ok());
    {
        CommitterGate gate(*db_);
        QueuedOps queued(*db_, {[this] { return insert(1, 0); },
                                [this] {
                                    return transact(*db_, [&]() -> core::Status {
                                        Statement(*db_, "INSERT INTO child VALUES (42)").run();
                                        return {};
                                    });
                                },
                                [this] { return insert(3, 0); }});
        gate.release();
        EXPECT_TRUE(queued.result(0).ok());
        EXPECT_EQ(queued.result(1).error().code, "storage_error");
        EXPECT_TRUE(queued.result(2).ok());
    }
    EXPECT_EQ(writers(), (std::vector<std::int64_t>{1, 3}));
}

TEST_F(GroupCommitTest, WithoutGroupCommitEveryTransactionCommitsAlone) {
    Database::Options options;
    options.group_commit = false;
    auto db = Database::open(dir_.file("alone.db"), options).value();
    ASSERT_FALSE(db->group_commit());
    ASSERT_TRUE(db->exec("CREATE TABLE u (who INTEGER)").ok());
    Database::Stats before = db->stats();
    std::vector<std::thread> threads;
    for (int who = 0; who < 4; ++who) {
        threads.emplace_back([&, who] {
            for (int i = 0; i < 25; ++i) {
                EXPECT_TRUE(transact(*db, [&]() -> core::Status {
                                Statement(*db, "INSERT INTO u VALUES (?1)")
                                    .bind(1, std::int64_t{who})
                                    .run();
                                return {};
                            }).ok());
            }
        });
    }
    for (std::thread& t : threads) t.join();
    Database::Stats after = db->stats();
    EXPECT_EQ(after.operations - before.operations, 100u);
    EXPECT_EQ(after.batches - before.batches, 100u);
}

TEST_F(GroupCommitTest, RowsOfManyWritersSurviveReopen) {
    {
        std::vector<std::thread> threads;
        for (int who = 0; who < 4; ++who) {
            threads.emplace_back([&, who] {
                for (int seq = 0; seq < 10; ++seq) EXPECT_TRUE(insert(who, seq).ok());
            });
        }
        for (std::thread& t : threads) t.join();
        db_.reset();
    }
    db_ = Database::open(dir_.file("g.db")).value();
    EXPECT_EQ(writers().size(), 40u);
}

// With group commit, checkpoints run on their own thread once the WAL holds
// 10,000 pages; the committer goes on meanwhile and nothing is lost.
TEST_F(GroupCommitTest, CheckpointerCopiesALongWalBack) {
    const std::string page(4000, 'x');
    constexpr int kRows = 12'000;  // about one 4 KiB page each
    ASSERT_TRUE(db_->exec("CREATE TABLE blobs (b TEXT)").ok());
    for (int done = 0; done < kRows; done += 1000) {
        ASSERT_TRUE(transact(*db_, [&]() -> core::Status {
                        for (int i = done; i < done + 1000; ++i) {
                            Statement(*db_, "INSERT INTO t(who, seq) VALUES (?1, ?2)")
                                .bind(1, std::int64_t{i})
                                .bind(2, std::int64_t{static_cast<std::int64_t>(page.size())})
                                .run();
                            Statement(*db_, "INSERT INTO blobs VALUES (?1)").bind(1, page).run();
                        }
                        return {};
                    }).ok());
    }
    for (int i = 0; i < 10'000 && db_->stats().checkpoints == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_GE(db_->stats().checkpoints, 1u);
    ASSERT_TRUE(insert(99, 0).ok());
    db_.reset();
    db_ = Database::open(dir_.file("g.db")).value();
    EXPECT_EQ(writers().size(), static_cast<std::size_t>(kRows + 1));
}

}  // namespace
}  // namespace tollgate::store
