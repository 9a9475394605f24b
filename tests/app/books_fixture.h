// The fixture of the tests of the commands that read the books (ledger
// verify, account statement, reconcile). Each test runs against the store its
// parameter names, through a configuration file it writes: "sqlite" (no
// [server] store: the file <data_dir>/tollgate.db) or "redis" ([server] store
// names the Redis server of this test binary, store_prefix a prefix of this
// test's own). The test writes the books through the backends themselves, on a
// manual clock, then runs a command as main() would and reads what it printed.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/config_fixture.h"
#include "app/store_open.h"
#include "core/clock.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"
#include "store/sqlite.h"
#include "support/redis_test_store.h"
#include "support/temp_dir.h"
#include "usage/redis/redis_usage_lua.h"
#include "usage/redis/redis_usage_sink.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::app::testing_support {

// 2026-11-30 12:00:00 UTC: the manual clock's start.
inline constexpr std::int64_t kNov30Noon = 20'787ll * 86'400'000 + 12ll * 3'600'000;
inline constexpr std::int64_t kHourMs = 3'600'000;

// What a command returned and printed.
struct CommandRun {
    int code = -1;
    std::string out, err;
};

inline CommandRun run_captured(const std::function<int()>& command) {
    CommandRun run;
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    run.code = command();
    std::fflush(stdout);
    std::fflush(stderr);
    run.out = ::testing::internal::GetCapturedStdout();
    run.err = ::testing::internal::GetCapturedStderr();
    return run;
}

inline std::string describe(const CommandRun& run) {
    return "exit " + std::to_string(run.code) + "\nstdout:\n" + run.out + "stderr:\n" + run.err;
}

class BooksTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        std::ofstream(dir_.file("pricing.toml")) << kMinimalBook;
        std::string server = "[server]\ndata_dir = \"data\"\n";
        if (redis()) {
            tollgate::testing::RedisServer& redis_server = tollgate::testing::shared_redis_server();
            if (!redis_server.ok()) FAIL() << "no Redis server: " << redis_server.error();
            server +=
                "store = \"" + redis_server.url() + "\"\nstore_prefix = \"" + prefix_ + "\"\n";
        }
        config_path_ = dir_.file("tollgate.toml");
        std::ofstream(config_path_) << server << kMinimalConfig;
        auto config = load_config(config_path_);
        ASSERT_TRUE(config.ok()) << config.error().message;
        config_ = std::move(config).value();
        auto store = store_location(config_, "");
        ASSERT_TRUE(store.ok()) << store.error().message;
        store_ = std::move(store).value();
        ASSERT_EQ(store_.shared(), redis());
        ASSERT_NO_FATAL_FAILURE(open_books());
    }

    bool redis() const { return GetParam() == "redis"; }

    // The backends the gateway would use on this store, on the test's clock.
    void open_books() {
        if (redis()) {
            auto options = store::redis::parse_redis_url(config_.store);
            ASSERT_TRUE(options.ok()) << options.error().message;
            auto client = store::redis::Client::connect(*options);
            ASSERT_TRUE(client.ok()) << client.error().message;
            client_ = std::move(client).value();
            auto ledger = ledger::RedisLedger::open(*client_, clock_, prefix_);
            ASSERT_TRUE(ledger.ok()) << ledger.error().message;
            ledger_ = std::move(ledger).value();
            auto usage = usage::RedisUsageSink::open(*client_, prefix_);
            ASSERT_TRUE(usage.ok()) << usage.error().message;
            usage_ = std::move(usage).value();
            return;
        }
        std::filesystem::create_directories(config_.data_dir);
        auto db = store::Database::open(store_.sqlite_path());
        ASSERT_TRUE(db.ok()) << db.error().message;
        db_ = std::move(db).value();
        auto ledger = ledger::SqliteLedger::open(*db_, clock_);
        ASSERT_TRUE(ledger.ok()) << ledger.error().message;
        ledger_ = std::move(ledger).value();
        auto usage = usage::SqliteUsageSink::open(*db_);
        ASSERT_TRUE(usage.ok()) << usage.error().message;
        usage_ = std::move(usage).value();
    }

    std::string account(const std::string& name, std::int64_t granted) {
        auto id = ledger_->create_account(name);
        EXPECT_TRUE(id.ok()) << id.error().message;
        if (!id.ok()) return "";
        auto g = ledger_->grant(*id, core::Tokens(granted), "welcome");
        EXPECT_TRUE(g.ok()) << g.error().message;
        return *id;
    }

    // A job of `tokens` charged to the account, as the gateway settles one: a
    // hold a minute before `finished_ms`, its capture at `settled_ms` (0: at
    // finished_ms), and its usage record finished at finished_ms. tokens 0: a
    // failed job (its hold voided, a record charging nothing).
    void job(const std::string& account_id, const std::string& job_id, std::int64_t tokens,
             std::int64_t finished_ms, std::int64_t settled_ms = 0) {
        clock_.set_ms(finished_ms - 60'000);
        auto held = ledger_->reserve(account_id, core::Tokens(tokens > 0 ? tokens : 10), job_id);
        ASSERT_TRUE(held.ok()) << held.error().message;
        ASSERT_EQ(held->outcome, ledger::ReserveOutcome::Held);
        clock_.set_ms(settled_ms != 0 ? settled_ms : finished_ms);
        auto settled = tokens > 0 ? ledger_->capture(job_id) : ledger_->void_hold(job_id, "failed");
        ASSERT_TRUE(settled.ok()) << settled.error().message;
        ASSERT_EQ(*settled, ledger::SettleOutcome::Settled);
        usage::UsageRecord r;
        r.job_id = job_id;
        r.account_id = account_id;
        r.workflow = "person";
        r.width = 512;
        r.height = 512;
        r.tokens = tokens;
        r.quoted_tokens = tokens > 0 ? tokens : 10;
        r.book_version = "v1";
        r.worker = "http://127.0.0.1:8188";
        r.execution_ms = 1000;
        r.outcome = tokens > 0 ? "succeeded" : "failed";
        r.failure_reason = tokens > 0 ? "" : "worker_error";
        r.finished_ms = finished_ms;
        core::Status written = usage_->write(r);
        ASSERT_TRUE(written.ok()) << written.error().message;
    }

    // A raw Redis command on the test's server.
    void raw(const std::vector<std::string>& argv) {
        ASSERT_TRUE(client_ != nullptr);
        auto r = client_->command(argv[1], argv);
        ASSERT_TRUE(r.ok()) << r.error().message;
    }
    // "P{sN}:a:<name>": a key of the account (ledger/redis, usage/redis).
    std::string account_key(const std::string& account_id, const std::string& name) const {
        return store::redis::account_base(prefix_, account_id) + name;
    }

    tollgate::testing::TempDir dir_;
    std::string prefix_ = tollgate::testing::unique_redis_prefix("app");
    std::string config_path_;
    Config config_;
    StoreLocation store_;
    core::ManualClock clock_{kNov30Noon};
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<store::redis::Client> client_;
    std::unique_ptr<ledger::Ledger> ledger_;
    std::unique_ptr<usage::UsageSink> usage_;
};

#define TOLLGATE_BOOKS_BACKENDS(suite)                                              \
    INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::Values("sqlite", "redis"), \
                             ::tollgate::testing::backend_param_name)

}  // namespace tollgate::app::testing_support
