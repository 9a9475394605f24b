// Redis ledger: opening, key names, and how scripts are run.
#include "ledger/redis/redis_ledger.h"

#include <utility>

#include "store/redis/redis_keys.h"

namespace tollgate::ledger {

core::Result<std::unique_ptr<RedisLedger>> RedisLedger::open(store::redis::Client& client,
                                                             const core::Clock& clock,
                                                             std::string prefix) {
    if (core::Status valid = store::redis::check_prefix(prefix); !valid.ok()) return valid.error();
    return std::unique_ptr<RedisLedger>(new RedisLedger(client, clock, std::move(prefix)));
}

std::string RedisLedger::account_base(const std::string& account_id) const {
    return store::redis::account_base(prefix_, account_id);
}

std::vector<std::string> redis_account_keys(const std::string& prefix,
                                            const std::string& account_id) {
    const std::string base = store::redis::account_base(prefix, account_id);
    return {base + "acct",    base + "grants",
            base + "live",    base + "gkeys",
            base + "holds",   base + "entries",
            base + "adjkeys", base + "subs",
            base + "keys",    redis_holds_expiring_key(prefix, store::redis::shard_of(account_id))};
}

std::string redis_holds_expiring_key(const std::string& prefix, int shard) {
    return store::redis::shard_base(prefix, shard) + "holds_expiring";
}

std::vector<std::string> RedisLedger::account_keys(const std::string& account_id) const {
    return redis_account_keys(prefix_, account_id);
}

core::Result<std::optional<std::string>> RedisLedger::hold_account(const std::string& key) {
    const std::string index = store::redis::owner_key(prefix_, key);
    auto r = client_.command(index, {"GET", index});
    if (!r.ok()) return r.error();
    if (r->is_nil()) return std::optional<std::string>();
    return std::optional<std::string>(r->text);
}

core::Result<store::redis::Reply> RedisLedger::run(const store::redis::Script& script,
                                                   const std::string& account_id,
                                                   const std::vector<std::string>& args) {
    return client_.eval(script, account_keys(account_id), args);
}

}  // namespace tollgate::ledger
