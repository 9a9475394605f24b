// The path of one job, in plain C++: intake -> price -> hold -> dispatch ->
// capture or void -> usage record. HTTP handlers call it; it knows no sockets.
//
// Invariants:
// - A hold and its job row are written in one transaction, so no hold exists
//   without a job and no job without its hold.
// - A job's final state, its capture or void, and its usage record commit in
//   one transaction: every finished job has exactly one outcome and one record.
// - The quote computed at admission is the amount captured; nothing re-prices.
//
// Threads: submit()/quote() run on HTTP threads; finish() runs on dispatch
// threads. All shared state lives in the stores, which are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "dispatch/dispatcher.h"
#include "dispatch/workflow_template.h"
#include "http/api/book_source.h"
#include "http/api/plan_service.h"
#include "image/digest.h"
#include "image/probe.h"
#include "jobs/job_store.h"
#include "ledger/ledger.h"
#include "pricing/quote.h"
#include "usage/usage_sink.h"

namespace tollgate::http {

// Runs `fn` atomically across ledger, jobs and usage (one storage transaction).
using Atomically = std::function<core::Status(const std::function<core::Status()>& fn)>;

struct WorkflowRoute {
    dispatch::WorkflowTemplate workflow;
    std::unique_ptr<dispatch::WorkerPool> workers;
};

struct JobServiceDeps {
    PriceBookSource* books = nullptr;
    PlanService* plans = nullptr;
    ledger::Ledger* ledger = nullptr;
    jobs::JobStore* jobs = nullptr;
    usage::UsageSink* usage = nullptr;
    dispatch::Dispatcher* dispatcher = nullptr;
    std::map<std::string, WorkflowRoute>* routes = nullptr;
    Atomically atomically;
    const core::Clock* clock = nullptr;
    std::string data_dir;  // results are written under <data_dir>/results/
    int job_timeout_ms = 600'000;
    // Unfinished jobs one account may have at once (0: no limit), so that one
    // account cannot fill the dispatch queue for everyone.
    int account_jobs_max = 0;
};

// What the client asked for, from the query string.
struct JobRequest {
    std::string workflow;
    std::string upscale_factor;  // as sent; empty means 1
    std::string quality;         // a level of the workflow; empty means its default
    std::string rounding;        // optional override, as sent
};

// The image read from the bytes (never from what the client declares) and
// its price. `quote` points into `book`, which this keeps alive.
struct PricedImage {
    image::ImageInfo info;
    image::Digests digests;
    std::shared_ptr<const pricing::PriceBook> book;
    pricing::Quote quote;
};

enum class SubmitOutcome {
    Accepted,
    InsufficientBalance,
    Busy,         // the dispatch queue is full
    TooManyJobs,  // the account has account_jobs_max jobs unfinished already
    FairUseExceeded,
    Replayed,             // the Idempotency-Key admitted a job before: same response again
    IdempotencyMismatch,  // the key was used before with a different request
};

struct SubmitResult {
    SubmitOutcome outcome;
    PricedImage priced;
    std::string job_id;        // when accepted
    core::Tokens available;    // after the hold, or the shortfall's balance
    FairUseDecision fair_use;  // when an unlimited plan's rules applied
    bool deprioritized = false;
    // Accepted or Replayed: the 202 body, stored with the Idempotency-Key (if
    // any) in the admission transaction and returned byte for byte on replay.
    std::string response_json;
};

// A hold lives this much longer than its job's timeout before the sweeper
// voids it.
inline constexpr std::int64_t kHoldGraceMs = 60'000;

// Idempotency-Key values are 1..kIdempotencyKeyBytesMax printable ASCII bytes.
inline constexpr std::size_t kIdempotencyKeyBytesMax = 255;

class JobService {
  public:
    explicit JobService(JobServiceDeps deps);

    // Intake and pricing only, at the current instant and with the account's
    // tenant terms; charges nothing. Errors carry the codes of image::probe
    // and pricing::quote.
    core::Result<PricedImage> price(const std::string& account_id, const JobRequest& request,
                                    std::string_view bytes) const;

    PriceBookSource& books() const { return *deps_.books; }
    PlanService& plans() const { return *deps_.plans; }

    // `idempotency_key` (may be empty): the same key, account and request get
    // the job admitted the first time and its response, with no new hold,
    // forever; the same key with another request is IdempotencyMismatch. Only
    // an admitted job records its key: a refused request can be retried with
    // the same key.
    core::Result<SubmitResult> submit(const std::string& account_id, const JobRequest& request,
                                      std::string bytes, const std::string& idempotency_key = "");

    // Settles a dispatched job (called by the dispatcher's thread).
    void finish(const jobs::Job& job, const dispatch::JobOutcome& outcome);

    // After a restart: a dispatched job whose worker accepted its prompt (the
    // prompt id was kept) is re-attached to that prompt for the time it has
    // left, and settles as usual; every other unfinished job is failed and its
    // hold voided. Returns how many unfinished jobs were found.
    core::Result<int> recover_unfinished();

    // Fails every job whose hold outlived its TTL (job timeout plus
    // kHoldGraceMs), voiding the hold with it: the backstop for a job nothing
    // is following any more. Returns how many were swept (at most `limit`).
    core::Result<int> sweep_expired_holds(std::size_t limit = 100);

    const std::string& data_dir() const { return deps_.data_dir; }

  private:
    core::Result<PricedImage> price_under(std::shared_ptr<const pricing::PriceBook> book,
                                          const std::string& tenant, const JobRequest& request,
                                          std::string_view bytes) const;
    static dispatch::JobParams params_for(const pricing::Quote& quote);
    static core::Result<SubmitResult> replay(SubmitResult result,
                                             const jobs::IdempotencyRecord& earlier,
                                             const std::string& fingerprint);
    core::Status fail_job(const jobs::Job& job, const std::string& reason,
                          const dispatch::JobOutcome* outcome);
    JobServiceDeps deps_;
};

}  // namespace tollgate::http
