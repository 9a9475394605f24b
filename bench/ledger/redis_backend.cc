// Redis under bench_ledger: reserve and capture as two Lua scripts (EVALSHA),
// one synchronous hiredis connection per client thread.
//
// Each script does the work of the matching ledger transaction: reserve
// checks the hold key and the balance, raises the held sum, writes the hold
// and appends a hold entry (with the balance after it) to the account's entry
// list; capture checks the hold is open and the account's, moves the tokens
// from held to captured, marks the hold and appends a capture entry. Lua runs
// atomically, and with appendonly yes the reply comes after the write is in
// the AOF (fsynced first under appendfsync always, within a second under
// everysec): the server, not this benchmark, picks the durability.
//
// Keys: bench:balance:<account> (hash granted/held/captured),
// bench:hold:<key> (hash), bench:entries:<account> (list). The setup
// overwrites the balance hashes of the accounts it uses and deletes their
// entry lists; it never flushes the database.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "bench/ledger/workload.h"
#include "core/clock.h"

namespace tollgate::bench {
namespace {

// KEYS: balance, hold, entries. ARGV: tokens, account, now_ms, hold key.
// Returns {outcome, available}: 0 held, 1 already held, 2 key reused with a
// different request, 3 insufficient balance, 4 unknown account.
constexpr const char* kReserveScript = R"lua(
local tokens = tonumber(ARGV[1])
local hold = redis.call('HMGET', KEYS[2], 'account', 'tokens')
if hold[1] then
  if hold[1] == ARGV[2] and tonumber(hold[2]) == tokens then return {1, 0} end
  return {2, 0}
end
local b = redis.call('HMGET', KEYS[1], 'granted', 'held', 'captured')
if not b[1] then return {4, 0} end
local available = tonumber(b[1]) - tonumber(b[2]) - tonumber(b[3])
if available < tokens then return {3, available} end
redis.call('HINCRBY', KEYS[1], 'held', tokens)
redis.call('HSET', KEYS[2], 'account', ARGV[2], 'tokens', tokens, 'state', 'open',
           'created_ms', ARGV[3])
available = available - tokens
redis.call('RPUSH', KEYS[3], 'hold ' .. ARGV[4] .. ' ' .. tokens .. ' ' .. ARGV[3] .. ' ' ..
           available)
return {0, available}
)lua";

// KEYS: hold, balance, entries. ARGV: account, now_ms, hold key.
// Returns 0 settled, 1 already captured, 2 conflict (voided), 3 unknown hold.
constexpr const char* kCaptureScript = R"lua(
local hold = redis.call('HMGET', KEYS[1], 'account', 'tokens', 'state')
if not hold[1] then return 3 end
if hold[3] == 'captured' then return 1 end
if hold[3] ~= 'open' then return 2 end
if hold[1] ~= ARGV[1] then return redis.error_reply('hold of another account') end
local tokens = tonumber(hold[2])
redis.call('HINCRBY', KEYS[2], 'held', -tokens)
local captured = redis.call('HINCRBY', KEYS[2], 'captured', tokens)
redis.call('HSET', KEYS[1], 'state', 'captured', 'captured', tokens, 'settled_ms', ARGV[2])
local b = redis.call('HMGET', KEYS[2], 'granted', 'held')
local available = tonumber(b[1]) - tonumber(b[2]) - captured
redis.call('RPUSH', KEYS[3], 'capture ' .. ARGV[3] .. ' ' .. tokens .. ' ' .. ARGV[2] .. ' ' ..
           available)
return 0
)lua";

struct ReplyFree {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

struct ContextFree {
    void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

core::Result<Context> dial(const std::string& address) {
    auto colon = address.rfind(':');
    if (colon == std::string::npos)
        return core::make_error("invalid_options", "--redis wants HOST:PORT, got " + address);
    std::string host = address.substr(0, colon);
    int port = 0;
    const char* digits = address.data() + colon + 1;
    auto [end, ec] = std::from_chars(digits, address.data() + address.size(), port);
    if (ec != std::errc() || end != address.data() + address.size() || port <= 0)
        return core::make_error("invalid_options", "--redis wants HOST:PORT, got " + address);
    Context c(redisConnect(host.c_str(), port));
    if (!c) return core::make_error("redis_error", "cannot allocate a connection");
    if (c->err) return core::make_error("redis_error", "connect " + address + ": " + c->errstr);
    return c;
}

// A command's arguments as hiredis takes them (binary-safe); borrows `args`.
struct Argv {
    explicit Argv(const std::vector<std::string>& args) {
        for (const std::string& a : args) {
            pointers.push_back(a.data());
            lengths.push_back(a.size());
        }
    }
    int count() const { return static_cast<int>(pointers.size()); }
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
};

// Sends one command and waits for its reply.
core::Result<Reply> command(redisContext* c, const std::vector<std::string>& args) {
    Argv argv(args);
    Reply r(static_cast<redisReply*>(
        redisCommandArgv(c, argv.count(), argv.pointers.data(), argv.lengths.data())));
    if (!r) return core::make_error("redis_error", std::string("connection: ") + c->errstr);
    if (r->type == REDIS_REPLY_ERROR)
        return core::make_error("redis_error", std::string(r->str, r->len));
    return r;
}

// Sends the commands in pipelined groups (one round trip, and one AOF fsync,
// per group) and checks every reply.
core::Status pipeline(redisContext* c, const std::vector<std::vector<std::string>>& commands) {
    constexpr std::size_t kGroup = 1'000;
    for (std::size_t first = 0; first < commands.size(); first += kGroup) {
        const std::size_t end = std::min(commands.size(), first + kGroup);
        for (std::size_t i = first; i < end; ++i) {
            Argv argv(commands[i]);
            if (redisAppendCommandArgv(c, argv.count(), argv.pointers.data(),
                                       argv.lengths.data()) != REDIS_OK)
                return core::make_error("redis_error", std::string("pipeline: ") + c->errstr);
        }
        for (std::size_t i = first; i < end; ++i) {
            void* raw = nullptr;
            if (redisGetReply(c, &raw) != REDIS_OK)
                return core::make_error("redis_error", std::string("pipeline: ") + c->errstr);
            Reply r(static_cast<redisReply*>(raw));
            if (r->type == REDIS_REPLY_ERROR)
                return core::make_error("redis_error", std::string(r->str, r->len));
        }
    }
    return {};
}

core::Result<std::string> load_script(redisContext* c, const char* script) {
    auto r = command(c, {"SCRIPT", "LOAD", script});
    if (!r.ok()) return r.error();
    if ((*r)->type != REDIS_REPLY_STRING)
        return core::make_error("redis_error", "SCRIPT LOAD answered no digest");
    return std::string((*r)->str, (*r)->len);
}

class RedisClient final : public LedgerClient {
  public:
    RedisClient(Context c, std::string reserve_sha, std::string capture_sha)
        : c_(std::move(c)),
          reserve_sha_(std::move(reserve_sha)),
          capture_sha_(std::move(capture_sha)) {}

    core::Status reserve_capture(const std::string& account_id, const std::string& key) override {
        const std::string balance = "bench:balance:" + account_id;
        const std::string hold = "bench:hold:" + key;
        const std::string entries = "bench:entries:" + account_id;
        const std::string now = std::to_string(core::SystemClock::instance().now_ms());
        auto held = command(c_.get(), {"EVALSHA", reserve_sha_, "3", balance, hold, entries, "1",
                                       account_id, now, key});
        if (!held.ok()) return held.error();
        const redisReply* r = held->get();
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->integer != 0)
            return core::make_error("not_held", "reserve did not place a hold on " + account_id);
        auto captured = command(
            c_.get(), {"EVALSHA", capture_sha_, "3", hold, balance, entries, account_id, now, key});
        if (!captured.ok()) return captured.error();
        if ((*captured)->type != REDIS_REPLY_INTEGER || (*captured)->integer != 0)
            return core::make_error("not_settled", "capture did not settle " + key);
        return {};
    }

  private:
    Context c_;
    std::string reserve_sha_, capture_sha_;
};

class RedisBackend final : public Backend {
  public:
    RedisBackend(std::string address, std::vector<std::string> accounts, std::string settings)
        : address_(std::move(address)),
          accounts_(std::move(accounts)),
          settings_(std::move(settings)) {}

    const std::vector<std::string>& accounts() const override { return accounts_; }
    std::string stats() const override { return settings_; }

    core::Result<std::unique_ptr<LedgerClient>> connect() override {
        auto c = dial(address_);
        if (!c.ok()) return c.error();
        auto reserve_sha = load_script(c->get(), kReserveScript);
        if (!reserve_sha.ok()) return reserve_sha.error();
        auto capture_sha = load_script(c->get(), kCaptureScript);
        if (!capture_sha.ok()) return capture_sha.error();
        return std::unique_ptr<LedgerClient>(std::make_unique<RedisClient>(
            std::move(*c), std::move(*reserve_sha), std::move(*capture_sha)));
    }

  private:
    std::string address_;
    std::vector<std::string> accounts_;
    std::string settings_;
};

// " appendonly=yes appendfsync=always", as the server reports them.
core::Result<std::string> durability_settings(redisContext* c) {
    std::string out;
    for (const char* name : {"appendonly", "appendfsync"}) {
        auto r = command(c, {"CONFIG", "GET", name});
        if (!r.ok()) return r.error();
        const redisReply* reply = r->get();
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
            return core::make_error("redis_error", std::string("CONFIG GET ") + name);
        out += std::string(" ") + name + "=" +
               std::string(reply->element[1]->str, reply->element[1]->len);
    }
    return out;
}

}  // namespace

core::Result<std::unique_ptr<Backend>> open_redis(const Options& o) {
    auto c = dial(o.redis);
    if (!c.ok()) return c.error();
    std::vector<std::string> accounts;
    std::vector<std::vector<std::string>> setup;
    for (std::int64_t i = 0; i < o.accounts; ++i) {
        std::string id = "acct_bench_" + std::to_string(i);
        setup.push_back({"HSET", "bench:balance:" + id, "granted", std::to_string(kAccountTokens),
                         "held", "0", "captured", "0"});
        setup.push_back({"DEL", "bench:entries:" + id});
        accounts.push_back(std::move(id));
    }
    core::Status funded = pipeline(c->get(), setup);
    if (!funded.ok()) return funded.error();
    auto settings = durability_settings(c->get());
    if (!settings.ok()) return settings.error();
    return std::unique_ptr<Backend>(
        std::make_unique<RedisBackend>(o.redis, std::move(accounts), std::move(*settings)));
}

}  // namespace tollgate::bench
