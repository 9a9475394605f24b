// Hash slots, and the cluster's slot map and redirections as the client reads
// them. See redis_client.cc for how they are used.
#include "store/redis/redis_cluster.h"

#include <array>

#include "store/redis/redis_connection.h"
#include "store/redis/redis_text.h"

namespace tollgate::store::redis {

namespace {

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as the Redis
// Cluster specification computes key slots.
constexpr std::array<std::uint16_t, 256> crc16_table() {
    std::array<std::uint16_t, 256> table{};
    for (unsigned byte = 0; byte < 256; ++byte) {
        unsigned crc = byte << 8;
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000u) ? (crc << 1) ^ 0x1021u : crc << 1;
        table[byte] = static_cast<std::uint16_t>(crc);
    }
    return table;
}
constexpr std::array<std::uint16_t, 256> kCrc16Table = crc16_table();

std::uint16_t crc16(std::string_view data) {
    unsigned crc = 0;
    for (char c : data) {
        const unsigned byte = static_cast<unsigned char>(c);
        crc = ((crc << 8) ^ kCrc16Table[((crc >> 8) ^ byte) & 0xffu]) & 0xffffu;
    }
    return static_cast<std::uint16_t>(crc);
}
static_assert(kCrc16Table[1] == 0x1021);

std::optional<int> parse_int(std::string_view digits, int max) {
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    int value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value > max) return std::nullopt;
    return value;
}

}  // namespace

std::uint16_t hash_slot(std::string_view key) {
    // Only the part between the first '{' and the next '}' counts, when it is
    // not empty, so that related keys can share a slot ("{user1}.a").
    const std::size_t open = key.find('{');
    if (open != std::string_view::npos) {
        const std::size_t close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1) {
            key = key.substr(open + 1, close - open - 1);
        }
    }
    return static_cast<std::uint16_t>(crc16(key) % kSlots);
}

std::optional<Redirect> parse_redirect(std::string_view text, const Endpoint& answered) {
    Redirect redirect;
    if (text.starts_with("MOVED ")) {
        text.remove_prefix(6);
    } else if (text.starts_with("ASK ")) {
        redirect.ask = true;
        text.remove_prefix(4);
    } else {
        return std::nullopt;
    }
    const std::size_t space = text.find(' ');
    const std::size_t colon = text.rfind(':');
    if (space == std::string_view::npos || colon == std::string_view::npos || colon < space) {
        return std::nullopt;
    }
    const auto slot = parse_int(text.substr(0, space), kSlots - 1);
    const auto port = parse_int(text.substr(colon + 1), 65535);
    if (!slot || !port || *port == 0) return std::nullopt;
    redirect.slot = *slot;
    redirect.node.host = std::string(text.substr(space + 1, colon - space - 1));
    if (redirect.node.host.empty()) redirect.node.host = answered.host;
    redirect.node.port = *port;
    return redirect;
}

bool same_node(const Endpoint& a, const Endpoint& b) {
    return a.host == b.host && a.port == b.port;
}

// CLUSTER SLOTS: [[start, end, [host, port, id, ...], replica...], ...].
core::Result<SlotMap> parse_slots(const Reply& reply, const Endpoint& answered) {
    const auto malformed = [&] {
        return redis_unavailable("malformed CLUSTER SLOTS reply from " + endpoint_name(answered));
    };
    if (reply.type != Reply::Type::Array) return malformed();
    SlotMap map;
    map.owner.assign(kSlots, -1);
    for (const Reply& range : reply.elements) {
        if (range.type != Reply::Type::Array || range.elements.size() < 3) return malformed();
        const Reply& start = range.elements[0];
        const Reply& end = range.elements[1];
        const Reply& master = range.elements[2];
        if (start.type != Reply::Type::Integer || end.type != Reply::Type::Integer ||
            start.integer < 0 || start.integer > end.integer || end.integer >= kSlots ||
            master.type != Reply::Type::Array || master.elements.size() < 2 ||
            master.elements[0].type != Reply::Type::String ||
            master.elements[1].type != Reply::Type::Integer || master.elements[1].integer < 1 ||
            master.elements[1].integer > 65535) {
            return malformed();
        }
        Endpoint node;
        node.host = master.elements[0].text;
        node.port = static_cast<int>(master.elements[1].integer);
        if (node.host == "?") continue;  // a node whose address is unknown yet
        if (node.host.empty()) node.host = answered.host;
        std::size_t index = 0;
        while (index < map.masters.size() && !same_node(map.masters[index], node)) ++index;
        if (index == map.masters.size()) map.masters.push_back(node);
        for (std::int64_t slot = start.integer; slot <= end.integer; ++slot) {
            map.owner[static_cast<std::size_t>(slot)] = static_cast<std::int16_t>(index);
        }
    }
    if (map.masters.empty()) {
        return redis_unavailable("the cluster of " + endpoint_name(answered) + " serves no slot");
    }
    return map;
}
}  // namespace tollgate::store::redis
