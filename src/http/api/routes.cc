// The route table (see routes.h). A flat table searched linearly: some sixty
// routes, matched a few segments each, cost nothing next to any handler, and
// a table reads as the list of routes it is. A trie or a regex per route was
// rejected as more code for no measurable gain.
#include "http/api/routes.h"

#include <algorithm>
#include <iterator>

namespace tollgate::http {
namespace {

using F = RouteFamily;

// Each facade route is also served under /api, as ComfyUI does; those copies
// are added by registered_routes().
constexpr RouteSpec kRoutes[] = {
    {"GET", "/healthz", F::Service},
    {"GET", "/metrics", F::Service},
    {"GET", "/dashboard", F::Service},
    {"HEAD", "/dashboard", F::Service},
    {"GET", "/dashboard/{file}", F::Service},
    {"HEAD", "/dashboard/{file}", F::Service},
    {"GET", "/", F::Service},
    {"HEAD", "/", F::Service},
    {"GET", "/app/{file}", F::Service},
    {"HEAD", "/app/{file}", F::Service},

    {"POST", "/v1/quote", F::Native},
    {"GET", "/v1/plans", F::Native},
    {"GET", "/v1/workflows", F::Native},
    {"POST", "/v1/jobs", F::Native},
    {"GET", "/v1/jobs/{id}", F::Native},
    {"DELETE", "/v1/jobs/{id}", F::Native},
    {"GET", "/v1/jobs/{id}/events", F::Native},
    {"GET", "/v1/jobs/{id}/result", F::Native},
    {"GET", "/v1/results/{id}", F::Native},
    {"GET", "/v1/account", F::Native},
    {"GET", "/v1/account/ledger", F::Native},

    {"POST", "/admin/accounts", F::Admin},
    {"GET", "/admin/accounts/{id}", F::Admin},
    {"GET", "/admin/accounts/{id}/ledger", F::Admin},
    {"POST", "/admin/accounts/{id}/keys", F::Admin},
    {"GET", "/admin/accounts/{id}/keys", F::Admin},
    {"DELETE", "/admin/accounts/{id}/keys/{key_id}", F::Admin},
    {"POST", "/admin/accounts/{id}/grants", F::Admin},
    {"POST", "/admin/accounts/{id}/adjustments", F::Admin},
    {"POST", "/admin/accounts/{id}/plans", F::Admin},
    {"DELETE", "/admin/accounts/{id}/plans/{plan}", F::Admin},
    {"POST", "/admin/accounts/{id}/tenant", F::Admin},
    {"POST", "/admin/jobs/{id}/refunds", F::Admin},
    {"GET", "/admin/pricing", F::Admin},
    {"POST", "/admin/pricing/reload", F::Admin},
    {"GET", "/admin/workers", F::Admin},
    {"POST", "/admin/workers/drain", F::Admin},
    {"GET", "/admin/reports/hourly", F::Admin},
    {"GET", "/admin/reports/heatmap", F::Admin},
    {"GET", "/admin/reports/economics", F::Admin},
    {"GET", "/admin/reports/top-accounts", F::Admin},
    {"GET", "/admin/reports/queue-wait", F::Admin},
    {"GET", "/admin/reports/calibration", F::Admin},
    {"GET", "/admin/reports/forecast", F::Admin},

    {"GET", "/prompt", F::Facade},
    {"POST", "/prompt", F::Facade},
    {"POST", "/upload/image", F::Facade},
    {"GET", "/history", F::Facade},
    {"POST", "/history", F::Facade},
    {"GET", "/history/{prompt_id}", F::Facade},
    {"GET", "/view", F::Facade},
    {"GET", "/queue", F::Facade},
    {"POST", "/queue", F::Facade},
    {"POST", "/interrupt", F::Facade},
    {"GET", "/object_info", F::Facade},
    {"GET", "/object_info/{class}", F::Facade},
    {"GET", "/system_stats", F::Facade},
    {"GET", "/ws", F::Facade},
};

// "/a//b/" -> {"a", "b"}.
std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size()) {
        const std::size_t end = std::min(path.find('/', i), path.size());
        if (end > i) out.push_back(path.substr(i, end - i));
        i = end + 1;
    }
    return out;
}

bool is_parameter(std::string_view segment) {
    return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// The literal segments of `path_template` when it matches `path`; -1 when not.
int literal_matches(std::string_view path_template, const std::vector<std::string_view>& path) {
    const std::vector<std::string_view> want = segments(path_template);
    if (want.size() != path.size()) return -1;
    int literals = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (is_parameter(want[i])) continue;
        if (want[i] != path[i]) return -1;
        ++literals;
    }
    return literals;
}

}  // namespace

const std::vector<RouteSpec>& registered_routes() {
    static const std::vector<RouteSpec> all = [] {
        // The /api copies' paths live as long as the process.
        static std::vector<std::string> api_paths;
        for (const RouteSpec& r : kRoutes) {
            if (r.family == F::Facade) api_paths.push_back("/api" + std::string(r.path));
        }
        std::vector<RouteSpec> out(std::begin(kRoutes), std::end(kRoutes));
        std::size_t next = 0;
        for (const RouteSpec& r : kRoutes) {
            if (r.family == F::Facade) out.push_back({r.method, api_paths[next++], r.family});
        }
        return out;
    }();
    return all;
}

RouteLookup look_up_route(std::string_view method, std::string_view path, bool facade) {
    const std::vector<std::string_view> seg = segments(path);
    RouteLookup out;
    int best = -1;
    for (const RouteSpec& r : registered_routes()) {
        if (r.family == F::Facade && !facade) continue;
        const int literals = literal_matches(r.path, seg);
        if (literals > best) {
            best = literals;
            out.path_template = r.path;
            out.family = r.family;
        }
    }
    if (out.path_template.empty()) return out;
    for (const RouteSpec& r : registered_routes()) {
        if (r.path != out.path_template) continue;
        if (!out.allowed_methods.empty()) out.allowed_methods += ", ";
        out.allowed_methods += r.method;
        out.method_allowed = out.method_allowed || r.method == method;
    }
    return out;
}

}  // namespace tollgate::http
