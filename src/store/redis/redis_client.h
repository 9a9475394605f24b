// A small synchronous Redis client over hiredis, for the shared (scaled-out)
// backend: commands and Lua scripts, on one server or on a Redis Cluster.
//
// It knows no money and no jobs: ledger/redis and jobs/redis keep their own
// keys and scripts. Each script touches keys of one hash slot only (their
// names share a {hash tag}), so the same scripts run on a single server and on
// a cluster.
//
// Key invariant: a script runs at most once per eval() call. A command whose
// connection broke after it was sent is not sent again (its outcome is
// unknown: error "redis_unavailable"); callers make their writes idempotent
// and retry at their own level.
//
// Threads: every method may be called from any thread. Connections come from
// a bounded pool per node; a call holds one for its duration.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::store::redis {

// A reply, converted from hiredis's. Error replies never reach callers as a
// Reply: they become core::Error "redis_error" (see Client::command).
struct Reply {
    enum class Type { Nil, Integer, String, Status, Array };
    Type type = Type::Nil;
    std::int64_t integer = 0;     // Type::Integer
    std::string text;             // Type::String and Type::Status
    std::vector<Reply> elements;  // Type::Array

    bool is_nil() const { return type == Type::Nil; }
};

struct Endpoint {
    std::string host;  // an IP address or a name (resolved at connect)
    int port = 6379;
};

// Bounds on every call; a call never blocks longer than connect + command
// timeouts per attempt.
inline constexpr int kConnectTimeoutMsDefault = 1'000;
inline constexpr int kCommandTimeoutMsDefault = 2'000;
inline constexpr int kPoolConnectionsMaxDefault = 16;
// MOVED/ASK redirections followed per call before giving up.
inline constexpr int kRedirectsMax = 5;
// The largest reply accepted, counted in bytes on the wire; a larger one
// fails the call with "redis_error". (hiredis 0.14's reader has no size bound
// of its own: its maxbuf only says when an idle buffer is freed.)
inline constexpr std::size_t kReplyBytesMax = 64u << 20;
// Seeds in Options and in a URL.
inline constexpr std::size_t kSeedsMax = 16;

struct Options {
    // One node of the server or of the cluster; the rest are discovered.
    std::vector<Endpoint> seeds;
    std::string password;  // AUTH when not empty
    int connect_timeout_ms = kConnectTimeoutMsDefault;
    int command_timeout_ms = kCommandTimeoutMsDefault;
    int pool_connections_max = kPoolConnectionsMaxDefault;  // per node
};

// "redis://[:password@]host:port[,host:port...]" (port 6379 when omitted;
// an IPv6 address in brackets; %XX escapes in the password; at most
// kSeedsMax hosts). Error "invalid_redis_url" names what is wrong without
// quoting any part of the URL, so never a password.
core::Result<Options> parse_redis_url(std::string_view url);

// The Redis Cluster hash slot of a key (CRC16 of the key, or of its {tag}).
std::uint16_t hash_slot(std::string_view key);

// A Lua script, known to the server by the SHA-1 of its text.
class Script {
  public:
    explicit Script(std::string source);
    const std::string& source() const { return source_; }
    const std::string& sha1_hex() const { return sha1_hex_; }

  private:
    std::string source_;
    std::string sha1_hex_;
};

class Client {
  public:
    // Connects to the first reachable seed and learns whether it is a
    // cluster (and then its slot map). Error "redis_unavailable" (also for
    // options out of range, which the message names).
    static core::Result<std::unique_ptr<Client>> connect(const Options& options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Runs one command. `key` routes it in a cluster (the node serving its
    // slot); "" means any node. Errors: "redis_unavailable" (no connection,
    // timeout, broken connection), "redis_error" (the server's error reply,
    // as its message).
    core::Result<Reply> command(std::string_view key, const std::vector<std::string>& argv);
    // Runs `script` with EVALSHA, loading it first where the node does not
    // know it (NOSCRIPT). Every key must be in one slot; the first routes.
    core::Result<Reply> eval(const Script& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args);

    bool cluster() const;
    // Every master node (one for a single server), for commands that must
    // reach each of them (SCAN, FLUSHALL in tests, INFO checks).
    std::vector<Endpoint> masters() const;
    // Runs a command on one given node (no redirection).
    core::Result<Reply> command_on(const Endpoint& node, const std::vector<std::string>& argv);

  private:
    struct Impl;
    explicit Client(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::store::redis
