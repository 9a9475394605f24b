// The fixture shared by the usage store tests. UsageTest runs each test
// against the backend named by its parameter: "sqlite" (a fresh database file
// in a temporary folder) or "redis" (a fresh key prefix on one Redis server
// shared by the whole test binary). Each test gets a usage sink and the
// outbox over the same records. RedisUsageTest is the same fixture fixed on
// Redis, for the tests that reach into its keys (client_).
//
// A backend-neutral suite is a TEST_P on UsageTest (or a subclass),
// instantiated with TOLLGATE_USAGE_BACKENDS(Suite): its tests are named
// Backends/Suite.Test/<backend>.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"
#include "store/sqlite.h"
#include "support/redis_test_store.h"
#include "support/temp_dir.h"
#include "usage/export/outbox.h"
#include "usage/redis/redis_usage_lua.h"
#include "usage/redis/redis_usage_outbox.h"
#include "usage/redis/redis_usage_sink.h"
#include "usage/sqlite/sqlite_usage_outbox.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::usage {

inline const auto kUsageBackends = ::testing::Values("sqlite", "redis");

#define TOLLGATE_USAGE_BACKENDS(suite)                                           \
    INSTANTIATE_TEST_SUITE_P(Backends, suite, ::tollgate::usage::kUsageBackends, \
                             ::tollgate::testing::backend_param_name)

// `count` account ids ("acct_<n>") of distinct shards, in increasing shard order.
inline std::vector<std::string> accounts_in_distinct_shards(std::size_t count) {
    std::map<int, std::string> by_shard;
    for (int i = 0; by_shard.size() < count; ++i) {
        const std::string id = "acct_" + std::to_string(i);
        by_shard.emplace(store::redis::shard_of(id), id);
    }
    std::vector<std::string> out;
    for (const auto& [shard, id] : by_shard) out.push_back(id);
    return out;
}

class UsageTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(open()); }

    // "sqlite" or "redis": the test's parameter.
    virtual std::string backend() const { return GetParam(); }
    bool on_redis() const { return backend() == "redis"; }

    // Opens (or reopens) the sink and the outbox on the same storage: the
    // same database file, or a new connection under the same prefix.
    void open() {
        outbox_.reset();
        sink_.reset();
        redis_sink_ = nullptr;
        redis_outbox_ = nullptr;
        db_.reset();
        client_.reset();
        const std::string name = backend();
        if (name == "sqlite") {
            auto db = store::Database::open(dir_.file("u.db"));
            ASSERT_TRUE(db.ok()) << db.error().message;
            db_ = std::move(db).value();
            auto sink = SqliteUsageSink::open(*db_);
            ASSERT_TRUE(sink.ok()) << sink.error().message;
            sink_ = std::move(sink).value();
            auto outbox = SqliteUsageOutbox::open(*db_);
            ASSERT_TRUE(outbox.ok()) << outbox.error().message;
            outbox_ = std::move(outbox).value();
        } else if (name == "redis") {
            client_ = testing::shared_redis_client();
            ASSERT_TRUE(client_);
            auto sink = RedisUsageSink::open(*client_, redis_prefix_);
            ASSERT_TRUE(sink.ok()) << sink.error().message;
            redis_sink_ = sink->get();
            sink_ = std::move(sink).value();
            auto outbox = RedisUsageOutbox::open(*client_, redis_prefix_);
            ASSERT_TRUE(outbox.ok()) << outbox.error().message;
            redis_outbox_ = outbox->get();
            outbox_ = std::move(outbox).value();
        } else {
            FAIL() << "unknown usage backend " << name;
        }
    }

    // The outbox partition of an account's records.
    int partition_of(const std::string& account_id) const {
        return on_redis() ? store::redis::shard_of(account_id) : 0;
    }

    void write(const UsageRecord& r) {
        core::Status s = sink_->write(r);
        ASSERT_TRUE(s.ok()) << s.error().code << ": " << s.error().message;
    }

    // Sets the sink's cursor of the partition to `seq`, backwards too: as if
    // the gateway died after the sink's answer, before the cursor's commit.
    void rewind_cursor(const std::string& sink, int partition, std::int64_t seq) {
        if (on_redis()) {
            const std::string key = usage_cursors_key(redis_prefix_, partition);
            ASSERT_TRUE(client_->command(key, {"HSET", key, sink, std::to_string(seq)}).ok());
        } else {
            ASSERT_EQ(partition, 0);
            ASSERT_TRUE(db_->exec("UPDATE usage_export_cursors SET last_seq = " +
                                  std::to_string(seq) + " WHERE sink = '" + sink + "'")
                            .ok());
        }
    }

    // Redis only: a command on the key's node; its reply.
    store::redis::Reply redis(const std::string& key, const std::vector<std::string>& argv) {
        auto r = client_->command(key, argv);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : store::redis::Reply{};
    }

    testing::TempDir dir_;
    std::string redis_prefix_ = testing::unique_redis_prefix("u");
    // Declared before the sink and outbox, which use them: destroyed after them.
    std::unique_ptr<store::Database> db_;           // SQLite only
    std::unique_ptr<store::redis::Client> client_;  // Redis only
    std::unique_ptr<UsageSink> sink_;
    std::unique_ptr<UsageOutbox> outbox_;
    RedisUsageSink* redis_sink_ = nullptr;      // Redis only: sink_
    RedisUsageOutbox* redis_outbox_ = nullptr;  // Redis only: outbox_
};

// The fixture on Redis alone. Used with TEST_F: it has no parameter.
class RedisUsageTest : public UsageTest {
  protected:
    std::string backend() const override { return "redis"; }
};

}  // namespace tollgate::usage
