// Client: routing a command to the node that serves its key, following the
// cluster's redirections, and running scripts by SHA-1.
//
// A standalone server is one node. For a cluster the client keeps the slot
// map from CLUSTER SLOTS (masters only: replicas would answer MOVED for every
// write) and routes a command by its key's hash slot. A MOVED reply updates
// that slot at once and reloads the whole map (one CLUSTER SLOTS at a time:
// callers that saw the same stale map share one reload), then the command goes
// to the named node. An ASK reply sends ASKING and the command to the named
// node, without touching the map, since the slot is only being migrated.
// Neither MOVED nor ASK means the command ran, so following them never runs
// anything twice; a command whose connection broke after it was sent is never
// sent again (redis_connection.cc tells these cases apart).
//
// Rejected: asking CLUSTER SLOTS before every command (a round trip each), and
// hiredis-cluster / hiredis-vip, which Debian does not package for hiredis 0.14.
#include "store/redis/redis_client.h"

#include <openssl/evp.h>

#include <map>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "store/redis/redis_cluster.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_text.h"

namespace tollgate::store::redis {

namespace {

// Nodes the client may ever hold a pool for (a cluster of this many nodes is
// far beyond any deployment here).
constexpr std::size_t kNodesMax = 1024;
constexpr int kTimeoutMsMax = 600'000;
constexpr int kPoolConnectionsMax = 1024;

using Argv = std::vector<std::string_view>;

core::Result<Reply> to_result(Answer answer) {
    switch (answer.kind) {
        case Answer::Kind::Replied:
            return std::move(answer.reply);
        case Answer::Kind::ErrorReply:
            return core::make_error("redis_error", std::move(answer.text));
        case Answer::Kind::NotSent:
            return redis_unavailable(std::move(answer.text));
        case Answer::Kind::Failed:
            break;
    }
    return core::make_error(std::move(answer.code), std::move(answer.text));
}

Answer failed(const core::Error& error) {
    Answer answer;
    answer.kind = Answer::Kind::Failed;
    answer.code = error.code;
    answer.text = error.message;
    return answer;
}

core::Status check_options(const Options& options) {
    if (options.seeds.empty() || options.seeds.size() > kSeedsMax) {
        return redis_unavailable("options: 1 to " + std::to_string(kSeedsMax) +
                                 " seeds are needed");
    }
    for (const Endpoint& seed : options.seeds) {
        if (seed.host.empty() || seed.port < 1 || seed.port > 65535) {
            return redis_unavailable("options: a seed needs a host and a port in 1..65535");
        }
    }
    if (options.connect_timeout_ms < 1 || options.connect_timeout_ms > kTimeoutMsMax ||
        options.command_timeout_ms < 1 || options.command_timeout_ms > kTimeoutMsMax) {
        return redis_unavailable("options: timeouts must be in 1.." +
                                 std::to_string(kTimeoutMsMax) + " ms");
    }
    if (options.pool_connections_max < 1 || options.pool_connections_max > kPoolConnectionsMax) {
        return redis_unavailable("options: pool_connections_max must be in 1.." +
                                 std::to_string(kPoolConnectionsMax));
    }
    return {};
}

}  // namespace

Script::Script(std::string source) : source_(std::move(source)) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    const bool hashed =
        EVP_Digest(source_.data(), source_.size(), digest, &length, EVP_sha1(), nullptr) == 1;
    TOLLGATE_ASSERT(hashed && length == 20);
    static constexpr char kHex[] = "0123456789abcdef";
    sha1_hex_.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        sha1_hex_ += kHex[digest[i] >> 4];
        sha1_hex_ += kHex[digest[i] & 0xf];
    }
}

struct Client::Impl {
    explicit Impl(const Options& o) : options(o) {}

    core::Result<Pool*> pool_for(const Endpoint& node);
    // One command on one node, after ASKING when `asking`.
    Answer exchange(const Endpoint& node, const Argv& argv, bool asking);
    // One command routed by `key`, following redirections. *answered_by is
    // the node that gave the final answer.
    core::Result<Reply> execute(std::string_view key, const Argv& argv, Endpoint* answered_by);
    // Loads the slot map, trying `first`, then the known masters, then seeds.
    core::Status load_map(const Endpoint* first);
    // Reloads the map unless someone did since `seen_loads`; the loads now.
    std::uint64_t reload_map(std::uint64_t seen_loads);
    void note_moved(int slot, const Endpoint& node);

    const Options options;
    bool cluster = false;  // set once by connect()
    Endpoint standalone;   // the node, when not a cluster

    std::mutex pools_mutex;
    std::map<std::string, std::unique_ptr<Pool>> pools;  // by endpoint_name()

    mutable std::shared_mutex map_mutex;
    SlotMap map;
    std::uint64_t map_loads = 0;
    std::mutex load_mutex;  // one CLUSTER SLOTS at a time
};

core::Result<Pool*> Client::Impl::pool_for(const Endpoint& node) {
    const std::string name = endpoint_name(node);
    std::lock_guard lock(pools_mutex);
    auto it = pools.find(name);
    if (it != pools.end()) return it->second.get();
    if (pools.size() >= kNodesMax) {
        return redis_unavailable("more than " + std::to_string(kNodesMax) + " nodes: not opening " +
                                 name);
    }
    it = pools.emplace(name, std::make_unique<Pool>(node, options)).first;
    return it->second.get();
}

Answer Client::Impl::exchange(const Endpoint& node, const Argv& argv, bool asking) {
    auto pool = pool_for(node);
    if (!pool.ok()) return failed(pool.error());
    // The Answer, and whether the first request on the connection never left.
    const auto run = [&](Pool::Lease& lease) -> std::pair<Answer, bool> {
        if (asking) {
            Answer answer = lease->round_trip({"ASKING"});
            if (answer.kind != Answer::Kind::Replied) {
                const bool unsent = answer.kind == Answer::Kind::NotSent;
                return {std::move(answer), unsent};
            }
        }
        Answer answer = lease->round_trip(argv);
        const bool first_unsent = !asking && answer.kind == Answer::Kind::NotSent;
        return {std::move(answer), first_unsent};
    };
    auto lease = (*pool)->acquire(Pool::Reuse::IdleFirst);
    if (!lease.ok()) return failed(lease.error());
    auto [answer, first_unsent] = run(*lease);
    if (!first_unsent || !lease->reused()) return std::move(answer);
    // An idle connection that the server had closed, caught before any byte
    // left: the request may go once more, on a new connection. The broken one
    // goes first, or a pool of one would wait for it.
    { [[maybe_unused]] const Pool::Lease broken = std::move(lease).value(); }
    auto fresh = (*pool)->acquire(Pool::Reuse::FreshOnly);
    if (!fresh.ok()) return failed(fresh.error());
    return run(*fresh).first;
}

core::Result<Reply> Client::Impl::execute(std::string_view key, const Argv& argv,
                                          Endpoint* answered_by) {
    Endpoint node = standalone;
    std::uint64_t seen_loads = 0;
    if (cluster) {
        std::shared_lock lock(map_mutex);
        const std::int16_t owner = key.empty() ? -1 : map.owner[hash_slot(key)];
        // No owner known: any master answers MOVED with the right one.
        node = map.masters[owner >= 0 ? static_cast<std::size_t>(owner) : 0];
        seen_loads = map_loads;
    }
    bool asking = false;
    for (int redirects = 0;; ++redirects) {
        Answer answer = exchange(node, argv, asking);
        if (answered_by != nullptr) *answered_by = node;
        if (!cluster || answer.kind != Answer::Kind::ErrorReply) {
            return to_result(std::move(answer));
        }
        const auto redirect = parse_redirect(answer.text, node);
        if (!redirect) return to_result(std::move(answer));
        if (redirects == kRedirectsMax) {
            return redis_unavailable("more than " + std::to_string(kRedirectsMax) +
                                     " redirections for one command; the last, from " +
                                     endpoint_name(node) + ": " + answer.text);
        }
        if (!redirect->ask) {
            note_moved(redirect->slot, redirect->node);
            seen_loads = reload_map(seen_loads);
        }
        node = redirect->node;
        asking = redirect->ask;
    }
}

core::Status Client::Impl::load_map(const Endpoint* first) {
    std::vector<Endpoint> candidates;
    if (first != nullptr) candidates.push_back(*first);
    {
        std::shared_lock lock(map_mutex);
        candidates.insert(candidates.end(), map.masters.begin(), map.masters.end());
    }
    candidates.insert(candidates.end(), options.seeds.begin(), options.seeds.end());
    std::string failures;
    for (const Endpoint& node : candidates) {
        auto reply = to_result(exchange(node, {"CLUSTER", "SLOTS"}, false));
        auto loaded = reply.ok() ? parse_slots(*reply, node) : core::Result<SlotMap>(reply.error());
        if (loaded.ok()) {
            std::unique_lock lock(map_mutex);
            map = std::move(loaded).value();
            ++map_loads;
            return {};
        }
        if (failures.size() < 1024) {
            failures += (failures.empty() ? "" : "; ") + loaded.error().message;
        }
    }
    return redis_unavailable("cannot load the cluster's slots: " + failures);
}

std::uint64_t Client::Impl::reload_map(std::uint64_t seen_loads) {
    std::lock_guard load_lock(load_mutex);
    {
        std::shared_lock lock(map_mutex);
        if (map_loads != seen_loads) return map_loads;
    }
    // When no node answers, the slot MOVED named keeps serving its keys.
    (void)load_map(nullptr);
    std::shared_lock lock(map_mutex);
    return map_loads;
}

void Client::Impl::note_moved(int slot, const Endpoint& node) {
    std::unique_lock lock(map_mutex);
    std::size_t index = 0;
    while (index < map.masters.size() && !same_node(map.masters[index], node)) ++index;
    if (index == map.masters.size()) {
        if (map.masters.size() >= static_cast<std::size_t>(kSlots)) return;
        map.masters.push_back(node);
    }
    map.owner[static_cast<std::size_t>(slot)] = static_cast<std::int16_t>(index);
}

core::Result<std::unique_ptr<Client>> Client::connect(const Options& options) {
    if (auto checked = check_options(options); !checked.ok()) return checked.error();
    auto impl = std::make_unique<Impl>(options);
    std::string failures;
    for (const Endpoint& seed : options.seeds) {
        Answer info = impl->exchange(seed, {"CLUSTER", "INFO"}, false);
        if (info.kind == Answer::Kind::ErrorReply &&
            (info.text.find("cluster support disabled") != std::string::npos ||
             info.text.starts_with("ERR unknown command"))) {
            impl->standalone = seed;
            return std::unique_ptr<Client>(new Client(std::move(impl)));
        }
        if (info.kind == Answer::Kind::Replied) {
            impl->cluster = true;
            auto loaded = impl->load_map(&seed);
            if (loaded.ok()) return std::unique_ptr<Client>(new Client(std::move(impl)));
            return loaded.error();
        }
        if (failures.size() < 1024) {
            failures += (failures.empty() ? "" : "; ") +
                        (info.kind == Answer::Kind::ErrorReply
                             ? endpoint_name(seed) + " answered CLUSTER INFO with " + info.text
                             : info.text);
        }
    }
    return redis_unavailable("no Redis seed answered: " + failures);
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;

core::Result<Reply> Client::command(std::string_view key, const std::vector<std::string>& argv) {
    TOLLGATE_ASSERT(!argv.empty());
    const Argv views(argv.begin(), argv.end());
    return impl_->execute(key, views, nullptr);
}

core::Result<Reply> Client::eval(const Script& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args) {
    for (const std::string& key : keys) {
        if (hash_slot(key) != hash_slot(keys.front())) {
            // Redis would refuse it on a cluster only; refused everywhere, the
            // mistake shows on a single server too.
            return core::make_error("redis_error",
                                    "CROSSSLOT the keys of one script must share a hash slot");
        }
    }
    const std::string key_count = std::to_string(keys.size());
    Argv argv{"EVALSHA", script.sha1_hex(), key_count};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string_view key = keys.empty() ? std::string_view() : std::string_view(keys[0]);

    Endpoint node;
    auto result = impl_->execute(key, argv, &node);
    if (result.ok() || result.error().code != "redis_error" ||
        !result.error().message.starts_with("NOSCRIPT")) {
        return result;
    }
    // NOSCRIPT: the script did not run. Load it where it was missing and try
    // once more.
    auto loaded = to_result(impl_->exchange(node, {"SCRIPT", "LOAD", script.source()}, false));
    if (!loaded.ok()) return loaded.error();
    if (loaded->type != Reply::Type::String || loaded->text != script.sha1_hex()) {
        return core::make_error("redis_error", "SCRIPT LOAD on " + endpoint_name(node) +
                                                   " did not answer the script's SHA-1");
    }
    return impl_->execute(key, argv, nullptr);
}

bool Client::cluster() const { return impl_->cluster; }

std::vector<Endpoint> Client::masters() const {
    if (!impl_->cluster) return {impl_->standalone};
    std::shared_lock lock(impl_->map_mutex);
    return impl_->map.masters;
}

core::Result<Reply> Client::command_on(const Endpoint& node, const std::vector<std::string>& argv) {
    TOLLGATE_ASSERT(!argv.empty());
    const Argv views(argv.begin(), argv.end());
    return to_result(impl_->exchange(node, views, false));
}

}  // namespace tollgate::store::redis
