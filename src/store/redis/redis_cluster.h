// Private to store/redis: what the client reads from a Redis Cluster, namely
// its slot map (CLUSTER SLOTS) and its redirections (MOVED, ASK). Pure
// functions of the server's replies; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/redis/redis_client.h"

namespace tollgate::store::redis {

inline constexpr int kSlots = 16384;

bool same_node(const Endpoint& a, const Endpoint& b);

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381".
struct Redirect {
    bool ask = false;  // ASK: this command only; MOVED: the slot has a new owner
    int slot = 0;
    Endpoint node;
};

// Nullopt when `text` (an error reply) is not a redirection. An empty host
// means the node that answered.
std::optional<Redirect> parse_redirect(std::string_view text, const Endpoint& answered);

// Which master serves each slot.
struct SlotMap {
    std::vector<Endpoint> masters;
    std::vector<std::int16_t> owner;  // kSlots entries: an index into masters, or -1
};

// A CLUSTER SLOTS reply from `answered`. Error "redis_unavailable" when it is
// malformed or assigns no slot.
core::Result<SlotMap> parse_slots(const Reply& reply, const Endpoint& answered);

}  // namespace tollgate::store::redis
