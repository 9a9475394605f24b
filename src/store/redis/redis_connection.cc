// One hiredis connection, and the pool of them per node.
//
// hiredis formats the request (redisFormatCommandArgv: binary-safe, lengths
// given) and parses the reply (redisBufferRead, redisGetReplyFromReader), but
// the socket I/O around them is ours, for three reasons that
// redisCommandArgv() cannot meet:
//   - it writes with write(), so a write to a connection the server has reset
//     raises SIGPIPE, which kills a process that has not ignored it (the test
//     binaries, any embedder); send(MSG_NOSIGNAL) reports EPIPE instead;
//   - it cannot tell "nothing was sent" (safe to send on a fresh connection)
//     from "the request may have run" (never sent again: its outcome is
//     unknown);
//   - it bounds each read by SO_RCVTIMEO, not the whole reply, and never the
//     reply's size. Here one deadline (poll) covers the reply, and the bytes
//     read for it are counted against kReplyBytesMax.
// hiredis 0.14's reader has no reply-size bound of its own: its `maxbuf` only
// decides when an idle read buffer is freed, so it keeps its 16 KiB default.
// Its reply builders are wrapped instead, so that a bulk length or an array
// count larger than any acceptable reply is refused before hiredis allocates
// for it.
#include "store/redis/redis_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

namespace tollgate::store::redis {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Nesting of arrays in a reply (hiredis 0.14 itself stops at 7).
constexpr int kReplyDepthMax = 8;
// The fewest bytes one array element takes on the wire ("+\r\n").
constexpr std::size_t kElementBytesMin = 3;

timeval to_timeval(int ms) {
    timeval tv{};
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

std::string too_large_message(const std::string& name) {
    return "the reply from " + name + " is larger than " + std::to_string(kReplyBytesMax) +
           " bytes";
}

// Converts `in` into `out`. False, with *why set, when it is too deep or too
// large; an error reply anywhere (top level or nested) sets *error_text.
bool convert(const redisReply& in, int depth, std::size_t* bytes, Reply* out,
             std::string* error_text, std::string* why) {
    switch (in.type) {
        case REDIS_REPLY_NIL:
            out->type = Reply::Type::Nil;
            return true;
        case REDIS_REPLY_INTEGER:
            out->type = Reply::Type::Integer;
            out->integer = in.integer;
            return true;
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_ERROR:
            *bytes += in.len;
            if (*bytes > kReplyBytesMax) {
                *why = "larger than " + std::to_string(kReplyBytesMax) + " bytes";
                return false;
            }
            if (in.type == REDIS_REPLY_ERROR) {
                // The first error reply found is the one reported.
                if (error_text->empty()) error_text->assign(in.str, in.len);
                if (error_text->empty()) *error_text = "ERR (an empty error reply)";
                return true;
            }
            out->type = in.type == REDIS_REPLY_STRING ? Reply::Type::String : Reply::Type::Status;
            out->text.assign(in.str, in.len);
            return true;
        case REDIS_REPLY_ARRAY:
            if (depth >= kReplyDepthMax) {
                *why = "nested deeper than " + std::to_string(kReplyDepthMax) + " arrays";
                return false;
            }
            out->type = Reply::Type::Array;
            out->elements.resize(in.elements);
            for (std::size_t i = 0; i < in.elements; ++i) {
                if (!convert(*in.element[i], depth + 1, bytes, &out->elements[i], error_text,
                             why)) {
                    return false;
                }
            }
            return true;
        default:
            *why = "of unknown type " + std::to_string(in.type);
            return false;
    }
}

}  // namespace

std::string endpoint_name(const Endpoint& node) {
    if (node.host.find(':') != std::string::npos) {
        return "[" + node.host + "]:" + std::to_string(node.port);
    }
    return node.host + ":" + std::to_string(node.port);
}

core::Result<std::unique_ptr<Connection>> Connection::open(const Endpoint& node,
                                                           const Options& options) {
    auto connection = std::unique_ptr<Connection>(new Connection());
    connection->name_ = endpoint_name(node);
    connection->command_timeout_ms_ = options.command_timeout_ms;
    const std::string& name = connection->name_;
    redisContext* c = redisConnectWithTimeout(node.host.c_str(), node.port,
                                              to_timeval(options.connect_timeout_ms));
    if (c == nullptr) {
        return core::make_error("redis_unavailable", "cannot allocate a connection to " + name);
    }
    connection->context_ = c;
    if (c->err != 0) {
        return core::make_error("redis_unavailable",
                                "cannot connect to " + name + ": " + std::string(c->errstr));
    }
    if (redisSetTimeout(c, to_timeval(options.command_timeout_ms)) != REDIS_OK ||
        redisEnableKeepAlive(c) != REDIS_OK) {
        return core::make_error("redis_unavailable",
                                "cannot set up the connection to " + name + ": " + c->errstr);
    }
    connection->builders_default_ = c->reader->fn;
    connection->builders_ = *c->reader->fn;
    connection->builders_.createString = &Connection::create_string;
    connection->builders_.createArray = &Connection::create_array;
    c->reader->fn = &connection->builders_;
    c->reader->privdata = connection.get();

    if (!options.password.empty()) {
        Answer auth = connection->round_trip({"AUTH", options.password});
        if (auth.kind == Answer::Kind::ErrorReply) {
            // The server's text never holds the password.
            return core::make_error("redis_unavailable", name + " refused AUTH: " + auth.text);
        }
        if (auth.kind != Answer::Kind::Replied) {
            return core::make_error("redis_unavailable", auth.text);
        }
    }
    return connection;
}

Connection::~Connection() {
    // Frees the reader too, whose builders_ still point into this object.
    if (context_ != nullptr) redisFree(context_);
}

bool Connection::idle_and_open() const {
    pollfd p{};
    p.fd = context_->fd;
    p.events = POLLIN;
    // Readable means end of file, a reset, or bytes nobody asked for.
    return ::poll(&p, 1, 0) == 0;
}

Answer Connection::fail(Answer::Kind kind, std::string code, std::string text) {
    broken_ = true;
    Answer answer;
    answer.kind = kind;
    answer.code = std::move(code);
    answer.text = std::move(text);
    return answer;
}

Answer Connection::round_trip(const std::vector<std::string_view>& argv) {
    TOLLGATE_ASSERT(usable());
    TOLLGATE_ASSERT(!argv.empty() && argv.size() <= static_cast<std::size_t>(INT_MAX));
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(command_timeout_ms_);
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    pointers.reserve(argv.size());
    lengths.reserve(argv.size());
    for (std::string_view arg : argv) {
        pointers.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()),
                                              pointers.data(), lengths.data());
    if (length < 0) {
        // Too large for hiredis (its length is an int); the connection is fine.
        Answer answer;
        answer.kind = Answer::Kind::Failed;
        answer.code = "redis_error";
        answer.text = "the command for " + name_ + " is too large to send";
        return answer;
    }
    const std::unique_ptr<char, void (*)(char*)> request(formatted, &redisFreeCommand);

    const std::size_t total = static_cast<std::size_t>(length);
    std::size_t sent = 0;
    while (sent < total) {
        // A blocking send, bounded by SO_SNDTIMEO (the command timeout).
        const ssize_t n = ::send(context_->fd, formatted + sent, total - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            return fail(sent == 0 ? Answer::Kind::NotSent : Answer::Kind::Failed,
                        "redis_unavailable",
                        "cannot send to " + name_ + ": " + std::strerror(error));
        }
        sent += static_cast<std::size_t>(n);
        if (sent < total && SteadyClock::now() >= deadline) {
            return fail(Answer::Kind::Failed, "redis_unavailable",
                        "sending to " + name_ + " took longer than " +
                            std::to_string(command_timeout_ms_) + " ms");
        }
    }
    return read_reply(deadline);
}

Answer Connection::read_reply(SteadyClock::time_point deadline) {
    reply_too_large_ = false;
    std::size_t received = 0;
    void* raw = nullptr;
    while (raw == nullptr) {
        const auto remaining =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
        pollfd p{};
        p.fd = context_->fd;
        p.events = POLLIN;
        const int ready =
            remaining.count() > 0 ? ::poll(&p, 1, static_cast<int>(remaining.count())) : 0;
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            return fail(Answer::Kind::Failed, "redis_unavailable",
                        "no reply from " + name_ + " within " +
                            std::to_string(command_timeout_ms_) + " ms");
        }
        if (ready < 0) {
            const int error = errno;
            return fail(Answer::Kind::Failed, "redis_unavailable",
                        "cannot wait for " + name_ + ": " + std::strerror(error));
        }
        const std::size_t buffered = context_->reader->len;
        if (redisBufferRead(context_) != REDIS_OK) {
            return fail(Answer::Kind::Failed, "redis_unavailable",
                        "lost the connection to " + name_ + ": " + context_->errstr);
        }
        // The read buffer only grows in redisBufferRead (the reader trims it
        // in redisGetReplyFromReader), so this is what the read added.
        received += context_->reader->len - buffered;
        if (received > kReplyBytesMax) {
            return fail(Answer::Kind::Failed, "redis_error", too_large_message(name_));
        }
        if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
            if (reply_too_large_) {
                return fail(Answer::Kind::Failed, "redis_error", too_large_message(name_));
            }
            return fail(Answer::Kind::Failed, "redis_unavailable",
                        "unreadable reply from " + name_ + ": " + context_->errstr);
        }
    }
    const std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                             &freeReplyObject);
    Answer answer;
    std::size_t bytes = 0;
    std::string why;
    if (!convert(*reply, 0, &bytes, &answer.reply, &answer.text, &why)) {
        // The whole reply was read: the connection stays usable.
        answer = Answer{};
        answer.kind = Answer::Kind::Failed;
        answer.code = "redis_error";
        answer.text = "the reply from " + name_ + " is " + why;
        return answer;
    }
    answer.kind = answer.text.empty() ? Answer::Kind::Replied : Answer::Kind::ErrorReply;
    if (answer.kind == Answer::Kind::ErrorReply) answer.reply = Reply{};
    return answer;
}

void* Connection::create_string(const redisReadTask* task, char* str, std::size_t len) {
    auto* self = static_cast<Connection*>(task->privdata);
    if (len > kReplyBytesMax) {
        self->reply_too_large_ = true;
        return nullptr;  // hiredis then fails the read
    }
    return self->builders_default_->createString(task, str, len);
}

void* Connection::create_array(const redisReadTask* task, int elements) {
    auto* self = static_cast<Connection*>(task->privdata);
    if (elements < 0 || static_cast<std::size_t>(elements) > kReplyBytesMax / kElementBytesMin) {
        self->reply_too_large_ = true;
        return nullptr;
    }
    return self->builders_default_->createArray(task, elements);
}

Pool::Pool(Endpoint node, const Options& options) : node_(std::move(node)), options_(options) {}

Pool::~Pool() {
    // Every lease has come back: a Client is not destroyed while in use.
    TOLLGATE_ASSERT(open_ == static_cast<int>(idle_.size()));
}

Pool::Lease& Pool::Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        give_back();
        pool_ = other.pool_;
        connection_ = std::move(other.connection_);
        reused_ = other.reused_;
    }
    return *this;
}

void Pool::Lease::give_back() {
    if (pool_ != nullptr && connection_ != nullptr) pool_->give_back(std::move(connection_));
}

core::Result<Pool::Lease> Pool::acquire(Reuse reuse) {
    const auto deadline =
        SteadyClock::now() + std::chrono::milliseconds(options_.command_timeout_ms);
    std::unique_lock lock(mutex_);
    for (;;) {
        if (!idle_.empty() && reuse == Reuse::IdleFirst) {
            // The most recently used one: the likeliest to be still open.
            std::unique_ptr<Connection> connection = std::move(idle_.back());
            idle_.pop_back();
            lock.unlock();
            if (connection->idle_and_open()) return Lease(this, std::move(connection), true);
            connection.reset();
            lock.lock();
            --open_;
            continue;
        }
        if (open_ < options_.pool_connections_max) {
            ++open_;
            lock.unlock();
            auto connection = Connection::open(node_, options_);
            if (!connection.ok()) {
                lock.lock();
                --open_;
                changed_.notify_one();
                return connection.error();
            }
            return Lease(this, std::move(connection).value(), false);
        }
        if (!idle_.empty()) {
            // Reuse::FreshOnly with the pool full: close the oldest idle one.
            std::unique_ptr<Connection> oldest = std::move(idle_.front());
            idle_.erase(idle_.begin());
            --open_;
            lock.unlock();
            oldest.reset();
            lock.lock();
            continue;
        }
        const bool freed = changed_.wait_until(lock, deadline, [&] {
            return !idle_.empty() || open_ < options_.pool_connections_max;
        });
        if (!freed) {
            return core::make_error("redis_unavailable",
                                    "all " + std::to_string(options_.pool_connections_max) +
                                        " connections to " + endpoint_name(node_) +
                                        " stayed busy for " +
                                        std::to_string(options_.command_timeout_ms) + " ms");
        }
    }
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
    std::unique_lock lock(mutex_);
    if (connection->usable()) {
        idle_.push_back(std::move(connection));
    } else {
        --open_;
    }
    lock.unlock();
    changed_.notify_one();
    // A broken connection closes here, outside the lock.
}

}  // namespace tollgate::store::redis
