// The native REST API (/v1) and the admin API (/admin) as one plain Handler.
//
// Routing, authentication and JSON mapping live here; the work itself is in
// JobService and the ledger. Every read path is scoped to the caller's
// account: another account's job is indistinguishable from a missing one (404).
//
// A /v1 request passes, in order: authentication (401 for a missing,
// unknown, expired or revoked key), the key's scope for the method (403
// insufficient_scope), and the account's rate limits (429 rate_limited, or
// 413 for an upload larger than the account's upload burst), charged with
// the body's size before the body is parsed. Only then does a route run, so
// a refused request holds and charges nothing. Secrets (API keys, the admin
// token) never reach a log line or an error message; keys are logged by id.
//
// Threads: handle() is called concurrently from the server's I/O threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "dispatch/worker_pools.h"
#include "http/api/facade/prompt_rules.h"
#include "http/api/job_service.h"
#include "http/api/json_requests.h"
#include "http/api/metrics.h"
#include "http/api/rate_limiter.h"
#include "http/server/server.h"
#include "jobs/job_store.h"
#include "ledger/ledger.h"
#include "pricing/price_book.h"
#include "usage/reports.h"

namespace tollgate::http {

namespace facade {
class FacadeApi;
}

// A key's expiry, when given, is at most ten years away (as a top-up's).
inline constexpr std::int64_t kApiKeyLifetimeSecondsMax = kGrantExpiryDaysMax * 86'400;

struct ApiOptions {
    std::string admin_token;  // required for /admin; never logged
    // The workers /admin/workers reports and drains (optional).
    dispatch::WorkerPools* workers = nullptr;
    // [rate_limits]: every account's limits unless a plan of the account's
    // sets its own (all 0 = no limits).
    pricing::RateLimits rate_limits = {};
    // Accounts whose buckets are kept in memory at once.
    int rate_limit_accounts_max = 100'000;
    // The limiter every instance on a shared store asks (RedisRateLimiter),
    // so they share each account's budget; it must outlive the Api. Null: an
    // in-memory RateLimiter of the Api's own (rate_limit_accounts_max).
    AccountRateLimiter* shared_limiter = nullptr;
    // What /admin/reports reads (the embedded file, or the first SQL usage
    // sink); null: those routes answer 501 reports_unsupported. It must
    // outlive the Api.
    usage::UsageReportSource* reports = nullptr;
    // [reports]: what a token and a GPU-second are worth, for /admin/reports/economics.
    usage::ReportPrices report_prices;
    // [reports] calibration_tokens_per_gpu_second: what /admin/reports/calibration
    // aims prices at unless the request names a target (0: it must).
    double calibration_tokens_per_gpu_second = 0;
    // The workers each configured workflow's pool lists, by workflow: what
    // /admin/reports/forecast compares its plan with (workers_now).
    std::vector<std::pair<std::string, std::int64_t>> pool_workers;
    // GET /metrics (with the admin token): the counters, and the gauges read
    // at each scrape. Null metrics: 404.
    Metrics* metrics = nullptr;
    std::function<LiveGauges()> live_gauges;
    // Where /dashboard's files are (built by `make` from web/); "": no dashboard.
    // The customer page's are in its `customer` directory.
    std::string assets_dir;
    // [server] customer_page: serve the customer web app at / and /app/.
    bool customer_page = false;
    // [facade]: ComfyUI's routes for ComfyUI clients (facade/facade_api.h);
    // nullopt: not served.
    std::optional<facade::FacadeOptions> facade;
};

// The caller of a /v1 route, from its API key.
struct Caller {
    std::string account_id;
    std::string key_id;  // public; what logs name
    ledger::KeyScopes scopes;
};

class Api {
  public:
    Api(JobService& service, ledger::Ledger& ledger, jobs::JobStore& jobs, const core::Clock& clock,
        ApiOptions options);
    ~Api();
    Response handle(const Request& request);
    // The server's WebSocket upgrades: the facade's /ws (others get 404).
    WsHandlers ws_handlers();
    // Decides from the head of a request alone (method, path, headers; the
    // body not read yet) whether it would be refused for its rate limits or
    // its upload size: the refusal to send instead of reading the body, or
    // nullopt to read it and go on to handle(), which decides for good. Takes
    // nothing from any bucket. Lets the server turn an abusive upload away
    // before it arrives.
    std::optional<Response> screen_head(const Request& head);

  private:
    // handle() without the request's count and latency.
    Response route(const Request& request);
    // Whether the request carries the admin token (logged when not).
    bool admin_authorized(const Request& request);
    Response get_metrics(const Request& request);
    // GET /dashboard[/<file>] (dashboard.cc).
    Response dashboard(const Request& request);
    // GET / and /app/<file>: the customer page, when enabled (customer_page.cc).
    Response customer_page(const Request& request);
    // GET /v1/workflows (customer_page.cc).
    Response get_workflows(const std::string& account_id);
    // The key's caller, or the 401 (or storage error) to answer.
    std::variant<Caller, Response> authenticate(const Request& request);
    // The account's limits under the price book in force.
    core::Result<AccountLimits> limits_for(const std::string& account_id);
    // The 429 or 413 for a request of `upload_bytes`, or nullopt when the
    // account's buckets took it.
    std::optional<Response> take_rate(const Caller& caller, const Request& request,
                                      std::int64_t upload_bytes);
    Response admin_create_key(const Request& request, const std::string& account_id);
    Response admin_list_keys(const std::string& account_id);
    Response admin_revoke_key(const std::string& account_id, const std::string& key_id);
    Response post_quote(const Request& request, const std::string& account_id);
    Response get_plans();
    // `path`: the route the answer's `next` link names.
    Response get_statement(const Request& request, const std::string& account_id,
                           const std::string& path = "/v1/account/ledger");
    Response post_job(const Request& request, const std::string& account_id);
    Response get_job(const std::string& job_id, const std::string& account_id, bool result);
    Response delete_job(const std::string& job_id, const std::string& account_id);
    Response job_events(const std::string& job_id, const std::string& account_id);
    Response get_signed_result(const Request& request, const std::string& job_id);
    Response result_file(const jobs::Job& job);
    Response get_account(const std::string& account_id);
    Response admin(const Request& request);
    Response admin_create_account(const Request& request);
    Response admin_grant(const Request& request, const std::string& account_id);
    Response admin_adjust(const Request& request, const std::string& account_id);
    Response admin_refund(const Request& request, const std::string& job_id);
    Response admin_workers();
    // GET /admin/reports/<name> (admin_reports.cc).
    Response admin_report(const Request& request, const std::string& name);
    // GET /admin/reports/calibration and /admin/reports/forecast (admin_insight.cc).
    Response admin_calibration(const Request& request);
    Response admin_forecast(const Request& request);
    Response admin_drain_worker(const Request& request);

    JobService& service_;
    ledger::Ledger& ledger_;
    jobs::JobStore& jobs_;
    const core::Clock& clock_;
    ApiOptions options_;
    std::unique_ptr<RateLimiter> own_limiter_;   // null with a shared limiter
    AccountRateLimiter& limiter_;                // the shared one, or own_limiter_
    std::unique_ptr<facade::FacadeApi> facade_;  // null without [facade]
};

}  // namespace tollgate::http
