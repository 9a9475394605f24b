// Admin routes over the ComfyUI workers: what the gateway knows of each
// (health, leases, queue, VRAM, warm models) and draining one for
// maintenance. A draining worker finishes the jobs it has and gets no new
// ones until it is undrained.
#include <nlohmann/json.hpp>

#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "http/api/json_requests.h"

namespace tollgate::http {

// GET /admin/workers
Response Api::admin_workers() {
    if (options_.workers == nullptr)
        return json_response(200, {{"workers", nlohmann::json::array()}});
    nlohmann::json workers = nlohmann::json::array();
    for (const dispatch::WorkerStatus& w : options_.workers->status()) {
        workers.push_back({{"url", w.url},
                           {"healthy", w.healthy},
                           {"draining", w.draining},
                           {"jobs_max", w.jobs_max},
                           {"jobs", w.leases},
                           {"queue_depth_others", w.queue_depth},
                           {"consecutive_failures", w.consecutive_failures},
                           {"vram_total_bytes", w.vram_total_bytes},
                           {"vram_used_bytes", w.vram_used_bytes},
                           {"last_probe_ms", w.last_sample_ms},
                           {"warm_models", w.warm_models}});
    }
    return json_response(200, {{"workers", workers}});
}

// POST /admin/workers/drain {"url": "http://...", "draining": true|false}
Response Api::admin_drain_worker(const Request& request) {
    auto drain = parse_drain_request(request.body);
    if (!drain.ok()) return error_response(drain.error());
    const std::string& url = drain->url;
    const bool draining = drain->draining;
    if (options_.workers == nullptr || !options_.workers->set_draining(url, draining)) {
        return error_response("unknown_worker", "no configured worker has the url '" + url + "'");
    }
    return json_response(200, {{"url", url}, {"draining", draining}});
}

}  // namespace tollgate::http
