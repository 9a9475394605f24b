// The native REST API (/v1) and the admin API (/admin) as one plain Handler.
//
// Routing, authentication and JSON mapping live here; the work itself is in
// JobService and the ledger. Every read path is scoped to the caller's
// account: another account's job is indistinguishable from a missing one (404).
//
// Threads: handle() is called concurrently from the server's I/O threads.
#pragma once

#include <string>

#include "core/clock.h"
#include "dispatch/worker_pools.h"
#include "http/api/job_service.h"
#include "http/server/server.h"
#include "jobs/job_store.h"
#include "ledger/ledger.h"

namespace tollgate::http {

// A top-up's expiry, when given, is at most ten years away.
inline constexpr std::int64_t kGrantExpiryDaysMax = 3660;

struct ApiOptions {
    std::string admin_token;  // required for /admin; never logged
    // The workers /admin/workers reports and drains (optional).
    dispatch::WorkerPools* workers = nullptr;
};

class Api {
  public:
    Api(JobService& service, ledger::Ledger& ledger, jobs::JobStore& jobs, const core::Clock& clock,
        ApiOptions options);
    Response handle(const Request& request);

  private:
    Response post_quote(const Request& request, const std::string& account_id);
    Response get_plans();
    Response get_statement(const Request& request, const std::string& account_id);
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
    Response admin_drain_worker(const Request& request);

    JobService& service_;
    ledger::Ledger& ledger_;
    jobs::JobStore& jobs_;
    const core::Clock& clock_;
    ApiOptions options_;
};

}  // namespace tollgate::http
