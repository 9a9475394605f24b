// Redis ledger: API keys. As in SQLite, the secret is never stored (only its
// SHA-256), records are never deleted (a revoked key stays refused and the
// listing keeps its history), and counting the active keys and adding one is
// a single step: a script over the account's keys.
//
// A key's record is the value of field <key id> in P{a}:keys, five lines
// joined by '\n' (every one is ASCII without '\n'):
//   <scopes text>\n<created_ms>\n<expires_ms or "">\n<revoked_ms or "">\n<sha256 hex>
// The scripts below read lines 3 and 4 and rewrite line 4.
//
// Papikey:<sha256> -> "<account>\t<key id>" finds a key by its secret. It is
// written (SET NX) before the record; an index whose record is missing (a
// crash in between) or names another hash finds nothing.
#include <algorithm>
#include <string_view>
#include <utility>

#include "core/assert.h"
#include "core/hash.h"
#include "core/ids.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/rules.h"
#include "store/redis/redis_text.h"

namespace tollgate::ledger {
namespace {

using store::redis::Reply;

struct KeyRecord {
    std::string scopes;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> expires_ms, revoked_ms;
    std::string sha256;
};

std::string optional_text(const std::optional<std::int64_t>& n) {
    return n ? std::to_string(*n) : std::string();
}

std::string encode(const KeyRecord& k) {
    return k.scopes + '\n' + std::to_string(k.created_ms) + '\n' + optional_text(k.expires_ms) +
           '\n' + optional_text(k.revoked_ms) + '\n' + k.sha256;
}

std::optional<KeyRecord> decode(std::string_view text) {
    std::vector<std::string_view> lines;
    for (;;) {
        const std::size_t nl = text.find('\n');
        lines.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    if (lines.size() != 5) return std::nullopt;
    KeyRecord k;
    k.scopes = std::string(lines[0]);
    auto created = store::redis::parse_int64(lines[1]);
    if (!created) return std::nullopt;
    k.created_ms = *created;
    auto optional_int = [](std::string_view line, std::optional<std::int64_t>& out) {
        if (line.empty()) return true;  // "" = none
        out = store::redis::parse_int64(line);
        return out.has_value();
    };
    if (!optional_int(lines[2], k.expires_ms) || !optional_int(lines[3], k.revoked_ms)) {
        return std::nullopt;
    }
    k.sha256 = std::string(lines[4]);
    return k;
}

ApiKeyInfo to_info(std::string id, const std::string& account_id, const KeyRecord& k) {
    ApiKeyInfo key;
    key.id = std::move(id);
    key.account_id = account_id;
    // Scopes this build cannot read grant nothing: a key is refused rather
    // than trusted with a scope it may not have been given.
    key.scopes = KeyScopes::parse(k.scopes).value_or(KeyScopes());
    key.created_ms = k.created_ms;
    key.expires_ms = k.expires_ms;
    key.revoked_ms = k.revoked_ms;
    return key;
}

}  // namespace

core::Result<NewApiKey> RedisLedger::create_api_key(const ApiKeySpec& spec) {
    const std::int64_t now = clock_.now_ms();
    if (core::Status valid = check_api_key_spec(spec, now); !valid.ok()) return valid.error();
    NewApiKey key;
    // 32 random bytes from the CSPRNG; the "tg_" prefix makes leaked keys
    // easy to scan for.
    key.secret = "tg_" + core::random_hex(32);
    key.id = core::new_id("key");
    key.created_ms = now;
    const KeyRecord record{spec.scopes.to_string(), now, spec.expires_ms, std::nullopt,
                           core::sha256_hex(key.secret)};

    const std::string index = global_key("apikey:" + record.sha256);
    auto set = client_.command(index, {"SET", index, spec.account_id + '\t' + key.id, "NX"});
    if (!set.ok()) return set.error();
    TOLLGATE_ASSERT(!set->is_nil());  // 256 random bits never repeat

    static const store::redis::Script kScript(R"lua(
-- KEYS: the account's keys (1 = acct, 9 = keys). ARGV: key id, record,
-- now_ms, the most active keys an account may hold.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown_account' end
local now = tonumber(ARGV[3])
local active = 0
for _, record in ipairs(redis.call('HVALS', KEYS[9])) do
  local expires, revoked = string.match(record, '^[^\n]*\n[^\n]*\n([^\n]*)\n([^\n]*)\n')
  if revoked == '' and (expires == '' or tonumber(expires) > now) then
    active = active + 1
  end
end
if active >= tonumber(ARGV[4]) then return 'too_many_keys' end
redis.call('HSET', KEYS[9], ARGV[1], ARGV[2])
return 'created'
)lua");
    auto r =
        run(kScript, spec.account_id,
            {key.id, encode(record), std::to_string(now), std::to_string(kApiKeysPerAccountMax)});
    if (!r.ok()) return r.error();  // the index may stay, leading nowhere
    if (r->text == "created") return key;
    // Refused: no record was written and the secret dies here, so nothing
    // can look the index up; dropping it is only tidiness (best effort).
    (void)client_.command(index, {"DEL", index});
    if (r->text == "unknown_account") return core::make_error("unknown_account", "no such account");
    if (r->text == "too_many_keys") {
        return core::make_error("too_many_keys", "the account already has " +
                                                     std::to_string(kApiKeysPerAccountMax) +
                                                     " active keys; revoke one first");
    }
    return store::redis::malformed_record("create_api_key script replied " + r->text);
}

core::Result<std::optional<ApiKeyInfo>> RedisLedger::find_api_key(const std::string& secret) {
    // The lookup is by hash, so timing reveals nothing about the secret.
    const std::string sha = core::sha256_hex(secret);
    const std::string index = global_key("apikey:" + sha);
    auto r = client_.command(index, {"GET", index});
    if (!r.ok()) return r.error();
    if (r->is_nil()) return std::optional<ApiKeyInfo>();
    const std::size_t tab = r->text.find('\t');
    if (tab == std::string::npos) return store::redis::malformed_record(index);
    const std::string account_id = r->text.substr(0, tab);
    std::string key_id = r->text.substr(tab + 1);

    const std::string keys = account_base(account_id) + "keys";
    auto rec = client_.command(keys, {"HGET", keys, key_id});
    if (!rec.ok()) return rec.error();
    if (rec->is_nil()) return std::optional<ApiKeyInfo>();  // index written, record not
    auto record = decode(rec->text);
    if (!record) return store::redis::malformed_record(keys + " " + key_id);
    if (!core::constant_time_equal(record->sha256, sha)) return std::optional<ApiKeyInfo>();
    return std::optional<ApiKeyInfo>(to_info(std::move(key_id), account_id, *record));
}

core::Result<std::optional<std::string>> RedisLedger::find_account_by_key(
    const std::string& secret) {
    auto key = find_api_key(secret);
    if (!key.ok()) return key.error();
    if (!key->has_value() || (*key)->state_at(clock_.now_ms()) != ApiKeyState::Active) {
        return std::optional<std::string>();
    }
    return std::optional<std::string>((*key)->account_id);
}

core::Result<std::vector<ApiKeyInfo>> RedisLedger::api_keys(const std::string& account_id) {
    // Two reads, not one step: accounts are never deleted, so one that
    // exists at the first still exists at the second.
    const std::string acct = account_base(account_id) + "acct";
    auto exists = client_.command(acct, {"EXISTS", acct});
    if (!exists.ok()) return exists.error();
    if (exists->integer != 1) return core::make_error("unknown_account", "no such account");

    const std::string hash = account_base(account_id) + "keys";
    auto r = client_.command(hash, {"HGETALL", hash});
    if (!r.ok()) return r.error();
    if (r->type != Reply::Type::Array || r->elements.size() % 2 != 0)
        return store::redis::malformed_record(hash);
    std::vector<ApiKeyInfo> keys;
    for (std::size_t i = 0; i < r->elements.size(); i += 2) {
        auto record = decode(r->elements[i + 1].text);
        if (!record) return store::redis::malformed_record(hash + " " + r->elements[i].text);
        keys.push_back(to_info(r->elements[i].text, account_id, *record));
    }
    // Newest first, as SQLite's ORDER BY created_ms DESC, id DESC (byte order).
    std::sort(keys.begin(), keys.end(), [](const ApiKeyInfo& a, const ApiKeyInfo& b) {
        if (a.created_ms != b.created_ms) return a.created_ms > b.created_ms;
        return a.id > b.id;
    });
    if (keys.size() > kApiKeysListMax) keys.resize(kApiKeysListMax);
    return keys;
}

core::Result<RevokeResult> RedisLedger::revoke_api_key(const std::string& account_id,
                                                       const std::string& key_id) {
    static const store::redis::Script kScript(R"lua(
-- KEYS: the account's keys (9 = keys). ARGV: key id, now_ms.
-- Replies {outcome} or {outcome, revoked_ms}.
local record = redis.call('HGET', KEYS[9], ARGV[1])
if not record then return {'unknown_key'} end
local lines = {}
for line in string.gmatch(record .. '\n', '([^\n]*)\n') do lines[#lines + 1] = line end
if lines[4] ~= '' then return {'already_revoked', lines[4]} end
lines[4] = ARGV[2]
redis.call('HSET', KEYS[9], ARGV[1], table.concat(lines, '\n'))
return {'revoked', ARGV[2]}
)lua");
    auto r = run(kScript, account_id, {key_id, std::to_string(clock_.now_ms())});
    if (!r.ok()) return r.error();
    if (r->type != Reply::Type::Array || r->elements.empty())
        return store::redis::malformed_record("revoke reply");
    const std::string& outcome = r->elements[0].text;
    if (outcome == "unknown_key") return RevokeResult{RevokeOutcome::UnknownKey};
    std::optional<std::int64_t> revoked_ms;
    if (r->elements.size() == 2) revoked_ms = store::redis::parse_int64(r->elements[1].text);
    if (!revoked_ms)
        return store::redis::malformed_record(account_base(account_id) + "keys " + key_id);
    if (outcome == "already_revoked")
        return RevokeResult{RevokeOutcome::AlreadyRevoked, *revoked_ms};
    if (outcome == "revoked") return RevokeResult{RevokeOutcome::Revoked, *revoked_ms};
    return store::redis::malformed_record("revoke_api_key script replied " + outcome);
}

}  // namespace tollgate::ledger
