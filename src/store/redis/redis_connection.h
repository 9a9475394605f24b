// Private to store/redis: one hiredis connection to one node, and the bounded
// pool of them that Client keeps per node.
//
// A Connection sends one request and reads its reply, within the command
// timeout, and tells apart a request that never left (safe to send again on
// another connection) from one whose outcome is unknown. A reply is bounded
// (kReplyBytesMax on the wire, checked while hiredis parses it) and converted
// into a Reply; error replies come back as text for Client to interpret
// (MOVED, ASK, NOSCRIPT).
//
// Threads: a Connection belongs to one thread at a time, through a Lease. A
// Pool may be used from any thread.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/redis/redis_client.h"

namespace tollgate::store::redis {

// What became of one request on one connection.
struct Answer {
    enum class Kind {
        Replied,     // `reply` holds the server's (non-error) reply
        ErrorReply,  // `text` holds the server's error reply
        NotSent,     // no byte of the request left: sending it again is safe
        Failed,      // the request may have run; `code` and `text` say what went wrong
    };
    Kind kind = Kind::Failed;
    Reply reply;
    std::string code;  // Failed: "redis_unavailable" or "redis_error"
    std::string text;
};

// "host:port", or "[v6]:port"; how messages and the pool map name a node.
std::string endpoint_name(const Endpoint& node);

class Connection {
  public:
    // Connects, sets the command timeout and authenticates. Error
    // "redis_unavailable".
    static core::Result<std::unique_ptr<Connection>> open(const Endpoint& node,
                                                          const Options& options);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Sends argv and reads its reply. After NotSent or Failed the connection
    // is broken and must be dropped.
    Answer round_trip(const std::vector<std::string_view>& argv);

    // False once anything went wrong on it: it never goes back to a pool.
    bool usable() const { return !broken_ && context_->err == 0; }
    // For an idle connection: false when the server closed it (or sent
    // anything unasked), which a synchronous protocol never does otherwise.
    bool idle_and_open() const;

  private:
    Connection() = default;
    Answer read_reply(std::chrono::steady_clock::time_point deadline);
    Answer fail(Answer::Kind kind, std::string code, std::string text);

    // hiredis calls these while it parses, with the reader's privdata (this).
    static void* create_string(const redisReadTask* task, char* str, std::size_t len);
    static void* create_array(const redisReadTask* task, int elements);

    redisContext* context_ = nullptr;
    std::string name_;
    int command_timeout_ms_ = 0;
    bool broken_ = false;
    // hiredis's default reply builders, and ours that bound them.
    const redisReplyObjectFunctions* builders_default_ = nullptr;
    redisReplyObjectFunctions builders_{};
    bool reply_too_large_ = false;
};

// Up to Options::pool_connections_max connections to one node.
class Pool {
  public:
    Pool(Endpoint node, const Options& options);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // One connection, held for one call and given back (when still usable)
    // on destruction.
    class Lease {
      public:
        Lease(Pool* pool, std::unique_ptr<Connection> connection, bool reused)
            : pool_(pool), connection_(std::move(connection)), reused_(reused) {}
        Lease(Lease&& other) noexcept = default;
        Lease& operator=(Lease&& other) noexcept;
        ~Lease() { give_back(); }

        Connection* operator->() { return connection_.get(); }
        // True when the connection had served an earlier call.
        bool reused() const { return reused_; }

      private:
        void give_back();
        Pool* pool_ = nullptr;
        std::unique_ptr<Connection> connection_;
        bool reused_ = false;
    };

    enum class Reuse { IdleFirst, FreshOnly };
    // An idle connection (IdleFirst) or a new one, waiting up to the command
    // timeout while all are busy. Error "redis_unavailable".
    core::Result<Lease> acquire(Reuse reuse);

    const Endpoint& node() const { return node_; }

  private:
    void give_back(std::unique_ptr<Connection> connection);

    const Endpoint node_;
    const Options options_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::unique_ptr<Connection>> idle_;
    int open_ = 0;  // idle plus leased (plus being connected)
};

}  // namespace tollgate::store::redis
