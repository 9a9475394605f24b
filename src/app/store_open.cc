#include "app/store_open.h"

#include <filesystem>
#include <utility>

#include "core/clock.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/redis/redis_checks.h"

namespace tollgate::app {

StoreLocation StoreLocation::embedded(std::string data_dir) {
    StoreLocation out;
    out.data_dir = std::move(data_dir);
    return out;
}

StoreLocation StoreLocation::redis(std::string url, std::string prefix) {
    StoreLocation out;
    out.redis_url = std::move(url);
    out.prefix = std::move(prefix);
    return out;
}

std::string StoreLocation::sqlite_path() const {
    return (std::filesystem::path(data_dir) / "tollgate.db").string();
}

std::string StoreLocation::describe() const {
    if (!shared()) return sqlite_path();
    return "Redis at " + store::redis::redact_url(redis_url) + " (prefix " + prefix + ")";
}

core::Result<StoreLocation> store_location(const Config& config, const std::string& data_dir_flag) {
    if (!config.shared_store()) {
        return StoreLocation::embedded(data_dir_flag.empty() ? config.data_dir : data_dir_flag);
    }
    if (!data_dir_flag.empty()) {
        return core::make_error(
            "invalid_option", "--data-dir reads the embedded store (tollgate.db), but " +
                                  config.source_path + " keeps the books in " +
                                  store::redis::redact_url(config.store) +
                                  ": drop --data-dir to read Redis, or --config to read the file");
    }
    return StoreLocation::redis(config.store, config.store_prefix);
}

core::Result<std::unique_ptr<store::Database>> open_command_database(
    const StoreLocation& where, const std::string& what, const store::Database::Options& options) {
    const std::string path = where.sqlite_path();
    if (!std::filesystem::exists(path))
        return core::make_error("no_store", "no " + what + " at " + path);
    return store::Database::open(path, options);
}

core::Result<std::unique_ptr<store::redis::Client>> connect_command_redis(
    const StoreLocation& where) {
    auto options = store::redis::parse_redis_url(where.redis_url);
    if (!options.ok())
        return core::make_error(options.error().code,
                                where.describe() + ": " + options.error().message);
    options->command_timeout_ms = kCommandRedisTimeoutMs;
    auto client = store::redis::Client::connect(*options);
    if (!client.ok()) {
        return core::make_error(client.error().code,
                                where.describe() + ": " + client.error().message);
    }
    return client;
}

core::Result<CommandLedger> open_command_ledger(const StoreLocation& where,
                                                const std::string& what) {
    const core::Clock& clock = core::SystemClock::instance();
    CommandLedger out;
    if (where.shared()) {
        auto client = connect_command_redis(where);
        if (!client.ok()) return client.error();
        out.redis = std::move(client).value();
        auto ledger = ledger::RedisLedger::open(*out.redis, clock, where.prefix);
        if (!ledger.ok()) return ledger.error();
        out.ledger = std::move(ledger).value();
        return out;
    }
    auto db = open_command_database(where, what, store::Database::Options{});
    if (!db.ok()) return db.error();
    out.db = std::move(db).value();
    auto ledger = ledger::SqliteLedger::open(*out.db, clock);
    if (!ledger.ok()) return ledger.error();
    out.ledger = std::move(ledger).value();
    return out;
}

}  // namespace tollgate::app
