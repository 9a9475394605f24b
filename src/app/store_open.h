// Where the command-line tools (`tollgate ledger verify`, `tollgate account
// statement`, `tollgate reconcile`) read the gateway's books, and opening it.
//
// They read the store the configuration names ([server] store and
// store_prefix): the embedded SQLite file <data_dir>/tollgate.db, or Redis
// (one server or a cluster) under the prefix. --data-dir names a data
// directory, so the embedded store: it overrides the config's data_dir, and
// is refused together with a config whose store is Redis, where it could only
// be a mistake (an old tollgate.db left in the directory would be read
// without a word).
//
// The commands only read. Redis is not checked for durability (the gateway
// does that before it writes), and its commands may take longer than the
// gateway's: verify runs one script per account, about a second per million
// entries.
#pragma once

#include <memory>
#include <string>

#include "app/config.h"
#include "core/result.h"
#include "ledger/ledger.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"
#include "store/sqlite.h"

namespace tollgate::app {

// How long one Redis command of a command-line tool may take.
inline constexpr int kCommandRedisTimeoutMs = 60'000;

struct StoreLocation {
    std::string data_dir;   // embedded: the directory holding tollgate.db
    std::string redis_url;  // shared: "redis://host:port[,...]"; "" = embedded
    std::string prefix = store::redis::kRedisPrefixDefault;  // shared: the key prefix

    static StoreLocation embedded(std::string data_dir);
    static StoreLocation redis(std::string url, std::string prefix);
    bool shared() const { return !redis_url.empty(); }
    // <data_dir>/tollgate.db.
    std::string sqlite_path() const;
    // For messages: "Redis at <url without password> (prefix P)", or the file's path.
    std::string describe() const;
};

// The store `config` names; `data_dir_flag` is --data-dir ("" when not
// given). Error "invalid_option" when --data-dir is given and the config
// names Redis.
core::Result<StoreLocation> store_location(const Config& config, const std::string& data_dir_flag);

// Opens the embedded file of `where` (not shared), which must exist: error
// "no_store", "no <what> at <path>" (the commands' wording: "ledger",
// "database"), rather than create an empty one.
core::Result<std::unique_ptr<store::Database>> open_command_database(
    const StoreLocation& where, const std::string& what, const store::Database::Options& options);

// Connects to the Redis of `where` (shared). Errors name the store (without
// its password).
core::Result<std::unique_ptr<store::redis::Client>> connect_command_redis(
    const StoreLocation& where);

// A ledger open for a command, with what it runs on (one of db, redis).
struct CommandLedger {
    std::unique_ptr<store::Database> db;
    std::unique_ptr<store::redis::Client> redis;
    std::unique_ptr<ledger::Ledger> ledger;  // declared last: goes first
};

// The ledger of `where`: SqliteLedger on the file (error "no_store" as
// open_command_database(), naming it `what`), or RedisLedger under the prefix.
core::Result<CommandLedger> open_command_ledger(const StoreLocation& where,
                                                const std::string& what);

}  // namespace tollgate::app
