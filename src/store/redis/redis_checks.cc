// Durability checks of a Redis deployment (see redis_checks.h). They read
// CONFIG GET, which every self-run Redis answers; a server that refuses it
// (some managed services rename it) is refused too, with the reason.
#include "store/redis/redis_checks.h"

namespace tollgate::store::redis {
namespace {

core::Result<std::string> config_value(Client& client, const Endpoint& node,
                                       const std::string& name) {
    auto r = client.command_on(node, {"CONFIG", "GET", name});
    if (!r.ok()) return r.error();
    if (r->elements.size() != 2) {
        return core::make_error("redis_not_durable", node.host + ":" + std::to_string(node.port) +
                                                         " does not report " + name);
    }
    return r->elements[1].text;
}

}  // namespace

core::Status check_durability(Client& client) {
    const std::pair<const char*, const char*> wanted[] = {
        {"appendonly", "yes"}, {"appendfsync", "always"}, {"maxmemory-policy", "noeviction"}};
    for (const Endpoint& node : client.masters()) {
        for (const auto& [name, value] : wanted) {
            auto got = config_value(client, node, name);
            if (!got.ok()) return got.error();
            if (*got != value) {
                return core::make_error(
                    "redis_not_durable",
                    "Redis " + node.host + ":" + std::to_string(node.port) + " has " + name + " " +
                        *got + "; money needs " + name + " " + value +
                        " (a crash or an eviction would lose acknowledged writes)");
            }
        }
    }
    return {};
}

std::string redact_url(std::string_view url) {
    const std::size_t at = url.rfind('@');
    const std::size_t start = url.find("://");
    if (at == std::string_view::npos || start == std::string_view::npos || at < start)
        return std::string(url);
    return std::string(url.substr(0, start + 3)) + "***" + std::string(url.substr(at));
}

}  // namespace tollgate::store::redis
