// Redis ledger: accounts. An account is its P{a}:acct hash (name, tenant,
// created_ms, the cached sums, credit_limit, the sequences): every script
// takes "the acct hash exists" to mean "the account exists". The Paccounts
// index is written first, so a crash in between leaves an id that verify()
// finds without a record, never an account nothing lists. account_ids()
// pages through that index with SSCAN, its cursor the page's cursor.
#include <algorithm>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/rules.h"
#include "store/redis/redis_text.h"

namespace tollgate::ledger {
namespace {

using store::redis::Reply;

}  // namespace

core::Result<std::string> RedisLedger::create_account(const std::string& name) {
    if (core::Status valid = check_account_name(name); !valid.ok()) return valid.error();
    std::string id = core::new_id("acct");
    const std::string index = global_key("accounts");
    auto added = client_.command(index, {"SADD", index, id});
    if (!added.ok()) return added.error();
    // One HSET, so the account appears whole or not at all.
    const std::string acct = account_base(id) + "acct";
    std::vector<std::string> argv{"HSET",   acct, "name",       name,
                                  "tenant", "",   "created_ms", std::to_string(clock_.now_ms())};
    // The cached sums, the credit limit and the sequences start at 0.
    for (const char* zero : {"granted", "held", "captured", "expired", "debited", "credit_limit",
                             "grant_seq", "entry_seq"}) {
        argv.insert(argv.end(), {zero, "0"});
    }
    auto r = client_.command(acct, argv);
    if (!r.ok()) return r.error();
    return id;
}

core::Result<bool> RedisLedger::account_exists(const std::string& account_id) {
    const std::string acct = account_base(account_id) + "acct";
    auto r = client_.command(acct, {"EXISTS", acct});
    if (!r.ok()) return r.error();
    return r->integer == 1;
}

core::Result<std::optional<AccountInfo>> RedisLedger::account(const std::string& account_id) {
    const std::string acct = account_base(account_id) + "acct";
    auto r = client_.command(acct, {"HMGET", acct, "name", "tenant", "created_ms"});
    if (!r.ok()) return r.error();
    if (r->type != Reply::Type::Array || r->elements.size() != 3)
        return store::redis::malformed_record(acct);
    if (r->elements[0].is_nil()) return std::optional<AccountInfo>();
    auto created_ms = store::redis::parse_int64(r->elements[2].text);
    if (!created_ms) return store::redis::malformed_record(acct + " created_ms");
    return std::optional<AccountInfo>(
        AccountInfo{account_id, r->elements[0].text, r->elements[1].text, *created_ms});
}

core::Result<AccountIdPage> RedisLedger::account_ids(const std::string& cursor, std::size_t limit) {
    if (limit == 0) return core::make_error("invalid_limit", "a page holds at least one id");
    // SSCAN starts (and ends) at cursor 0, which callers see as "".
    const std::string scan = cursor.empty() ? "0" : cursor;
    if (scan.size() > 20 ||
        !std::all_of(scan.begin(), scan.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return core::make_error("invalid_cursor", "an account id cursor is a number");
    }
    const std::string index = global_key("accounts");
    const std::size_t count = std::min(limit, kAccountIdsPageMax);
    auto r = client_.command(index, {"SSCAN", index, scan, "COUNT", std::to_string(count)});
    if (!r.ok()) return r.error();
    if (r->type != Reply::Type::Array || r->elements.size() != 2 ||
        r->elements[0].type != Reply::Type::String || r->elements[1].type != Reply::Type::Array) {
        return core::make_error("storage_error", "unexpected reply to SSCAN " + index);
    }
    AccountIdPage page;
    page.ids.reserve(r->elements[1].elements.size());
    for (Reply& id : r->elements[1].elements) {
        if (id.type != Reply::Type::String) {
            return core::make_error("storage_error", "unexpected reply to SSCAN " + index);
        }
        page.ids.push_back(std::move(id.text));
    }
    if (r->elements[0].text != "0") page.next_cursor = std::move(r->elements[0].text);
    return page;
}

core::Result<bool> RedisLedger::set_tenant(const std::string& account_id,
                                           const std::string& tenant) {
    if (tenant.size() > kTenantBytesMax)
        return core::make_error("invalid_tenant", "tenant is longer than 200 bytes");
    // A plain HSET would create a bare hash for an unknown account, which
    // every other script would then take for an account.
    static const store::redis::Script kScript(R"lua(
-- KEYS[1]: the account's acct hash. ARGV[1]: the tenant ("" = none).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'tenant', ARGV[1])
return 1
)lua");
    auto r = run(kScript, account_id, {tenant});
    if (!r.ok()) return r.error();
    return r->integer == 1;
}

}  // namespace tollgate::ledger
