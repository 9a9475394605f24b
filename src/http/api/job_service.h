// The path of one job, in plain C++: intake -> price -> hold -> dispatch ->
// capture or void -> usage record. HTTP handlers call it; it knows no sockets.
//
// Invariants:
// - A hold and its job row are written in one transaction, so no hold exists
//   without a job and no job without its hold.
// - A job's final state, its capture or void, and its usage record commit in
//   one transaction: every finished job has exactly one outcome and one record.
// - The quote computed at admission is the amount captured; nothing re-prices.
// - A duplicate that reuses an earlier job's result (jobs/dedupe.h) has no
//   hold and is never dispatched: it succeeds at once, or is attached to the
//   earlier job in flight and settles in that job's own settlement
//   transaction, with its result or its failure, charged 0 either way.
//
// Threads: submit()/quote() run on HTTP threads; finish() runs on dispatch
// threads. All shared state lives in the stores, which are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "dispatch/dispatcher.h"
#include "dispatch/workflow_template.h"
#include "http/api/book_source.h"
#include "http/api/job_events.h"
#include "http/api/metrics.h"
#include "http/api/plan_service.h"
#include "http/api/result_links.h"
#include "http/client/http_client.h"
#include "image/digest.h"
#include "image/probe.h"
#include "jobs/dedupe.h"
#include "jobs/job_store.h"
#include "jobs/ownership.h"
#include "jobs/settlement.h"
#include "jobs/webhook_outbox.h"
#include "ledger/ledger.h"
#include "pricing/quote.h"
#include "usage/usage_sink.h"

namespace tollgate::http {

// Runs `fn` atomically across ledger, jobs and usage (one storage transaction).
using Atomically = std::function<core::Status(const std::function<core::Status()>& fn)>;

// A workflow's graph; its workers are the dispatcher's pool of the same name.
struct WorkflowRoute {
    dispatch::WorkflowTemplate workflow;
};

// DELETE /v1/jobs/{id} waits this long by default for a running job to wind down.
inline constexpr int kCancelWaitMs = 5'000;

struct JobServiceDeps {
    PriceBookSource* books = nullptr;
    PlanService* plans = nullptr;
    ledger::Ledger* ledger = nullptr;
    jobs::JobStore* jobs = nullptr;
    usage::UsageSink* usage = nullptr;
    dispatch::Dispatcher* dispatcher = nullptr;
    std::map<std::string, WorkflowRoute>* routes = nullptr;
    Atomically atomically;
    // Set on a backend whose parts cannot share a transaction (Redis): the
    // admission and the end of a job commit through it, each one atomic
    // step, and `atomically` merely runs its function. Null on SQLite.
    jobs::Settlement* settlement = nullptr;
    // Set when several instances share the store: which instance follows
    // which job, so that recovery takes over only the jobs of instances that
    // stopped. Null: every unfinished job is this process's after a restart.
    jobs::JobOwnership* ownership = nullptr;
    const core::Clock* clock = nullptr;
    std::string data_dir;
    // Where results are written; empty means <data_dir>/results.
    std::string results_dir;
    // Signs result links (ResultLinks); empty: a random one for this process
    // only, so links die with it.
    std::string result_url_secret;
    std::int64_t result_url_ttl_s = 3600;
    // Webhook deliveries are queued here when a job with a webhook_url ends;
    // null: webhook_url is refused (invalid_webhook_url).
    jobs::WebhookOutbox* webhooks = nullptr;
    // Derives each account's webhook signing key (see http/api/webhooks.h).
    std::string webhook_secret;
    // Which webhook_url addresses are accepted (see http/client/address_policy.h).
    Reach webhook_reach = Reach::PublicOnly;
    // Called after a transaction that queued a delivery has committed.
    std::function<void()> on_webhook_queued;
    int job_timeout_ms = 600'000;
    // Unfinished jobs one account may have at once (0: no limit), so that one
    // account cannot fill the dispatch queue for everyone.
    int account_jobs_max = 0;
    // Unfinished jobs of all the accounts of one tenant at once (0: no limit),
    // counted across instances on a shared store, so that one tenant cannot
    // starve the others.
    int tenant_jobs_max = 0;
    // How long cancel() waits for a running job to wind down.
    int cancel_wait_ms = kCancelWaitMs;
    // Duplicate detection ([dedupe]): policies, window, distance, scope.
    jobs::DedupeSettings dedupe;
    // Counters and latencies for /metrics (optional; must outlive the service).
    Metrics* metrics = nullptr;
};

// What the client asked for, from the query string.
struct JobRequest {
    JobRequest() = default;
    JobRequest(std::string workflow_, std::string upscale_factor_, std::string quality_,
               std::string rounding_)
        : workflow(std::move(workflow_)),
          upscale_factor(std::move(upscale_factor_)),
          quality(std::move(quality_)),
          rounding(std::move(rounding_)) {}

    std::string workflow;
    std::string upscale_factor;  // as sent; empty means 1
    std::string quality;         // a level of the workflow; empty means its default
    std::string rounding;        // optional override, as sent
    // A ComfyUI facade prompt: the client's own graph, run instead of the
    // workflow's template (the workflow still prices it and picks the pool),
    // with `graph_sha256` (its hex digest) in the dedupe key. Null otherwise.
    std::shared_ptr<const dispatch::WorkflowTemplate> graph;
    std::string graph_sha256;
};

// The image read from the bytes (never from what the client declares) and
// its price. `quote` points into `book`, which this keeps alive.
struct PricedImage {
    image::ImageInfo info;
    image::Digests digests;  // set by submit(); empty from price()
    std::shared_ptr<const pricing::PriceBook> book;
    pricing::Quote quote;
};

enum class SubmitOutcome {
    Accepted,
    InsufficientBalance,
    Busy,         // the dispatch queue is full
    TooManyJobs,  // the account has account_jobs_max jobs unfinished already
    TenantBusy,   // the account's tenant has tenant_jobs_max jobs unfinished already
    FairUseExceeded,
    Replayed,             // the Idempotency-Key admitted a job before: same response again
    IdempotencyMismatch,  // the key was used before with a different request
    Duplicate,            // the reject policy refused a duplicate of dedupe.of; nothing held
};

struct SubmitResult {
    SubmitOutcome outcome = SubmitOutcome::Accepted;
    PricedImage priced;
    std::string job_id;        // when accepted
    core::Tokens available;    // after the hold, or the shortfall's balance
    FairUseDecision fair_use;  // when an unlimited plan's rules applied
    bool deprioritized = false;
    // Accepted or Replayed: the 202 body, stored with the Idempotency-Key (if
    // any) in the admission transaction and returned byte for byte on replay.
    std::string response_json;
    // What duplicate detection decided: Reuse or Attach (accepted, charged
    // 0), Reject (Duplicate), or Proceed, maybe flagged as a near duplicate.
    jobs::DedupeDecision dedupe;
};

// One recovery pass takes over at most this many jobs.
inline constexpr std::size_t kRecoveredJobsMax = 10'000;

// A hold lives this much longer than its job's timeout before the sweeper
// voids it.
inline constexpr std::int64_t kHoldGraceMs = 60'000;

// The shared store's lock on a dedupe key (lock_duplicates) lives this long
// at most, should its holder die; a request waits for it this long at most
// (past its life, so a dead holder's lock has gone), polling every
// kDedupeLockPollMs, before it is refused as busy.
inline constexpr std::int64_t kDedupeLockTtlMs = 5'000;
inline constexpr std::int64_t kDedupeLockWaitMs = 6'000;
inline constexpr std::int64_t kDedupeLockPollMs = 2;

// Idempotency-Key values are 1..kIdempotencyKeyBytesMax printable ASCII bytes.
inline constexpr std::size_t kIdempotencyKeyBytesMax = 255;

enum class CancelOutcome {
    Cancelled,        // the job is failed with a "cancelled: ..." reason, its hold voided
    Cancelling,       // asked to stop; not finished within cancel_wait_ms (it will be cancelled)
    AlreadyFinished,  // it had succeeded or failed before the cancel
    NotFound,         // no such job for this account
};

struct CancelResult {
    CancelOutcome outcome = CancelOutcome::NotFound;
    jobs::Job job;  // as it is after the cancel (not set for NotFound)
};

class JobService {
  public:
    // Becomes deps.dispatcher's queue listener, to tell the events of the
    // jobs waiting there where they stand. As with the jobs it hands to the
    // dispatcher, the dispatcher must be stopped before the service goes.
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
    // `webhook_url` (may be empty): where the job's end is POSTed (see
    // http/api/webhooks.h); checked before anything is priced or held
    // (invalid_webhook_url), and part of what an idempotency key covers.
    core::Result<SubmitResult> submit(const std::string& account_id, const JobRequest& request,
                                      std::string bytes, const std::string& idempotency_key = "",
                                      const std::string& webhook_url = "");

    // Settles a dispatched job (called by the dispatcher's thread). Once a
    // cancel was asked for, the job ends cancelled whatever the outcome.
    void finish(const jobs::Job& job, const dispatch::JobOutcome& outcome);

    // Cancels the account's unfinished job: one still in the gateway's queue
    // is taken out at once; one on a worker is deleted from the worker's
    // queue or interrupted there. Either way its hold is voided and nothing is
    // charged. Waits up to deps.cancel_wait_ms for the job to end.
    core::Result<CancelResult> cancel(const std::string& account_id, const std::string& job_id);

    // After a restart (and, on a shared store, periodically, for the jobs of
    // instances that stopped): a dispatched job whose worker accepted its prompt (the
    // prompt id was kept) is re-attached to that prompt for the time it has
    // left, and settles as usual; every other unfinished job is failed and its
    // hold voided. Returns how many unfinished jobs were found.
    core::Result<int> recover_unfinished();

    // Fails every job whose hold outlived its TTL (job timeout plus
    // kHoldGraceMs), voiding the hold with it: the backstop for a job nothing
    // is following any more. Returns how many were swept (at most `limit`).
    core::Result<int> sweep_expired_holds(std::size_t limit = 100);

    const std::string& data_dir() const { return deps_.data_dir; }
    const std::string& results_dir() const { return deps_.results_dir; }
    const ResultLinks& result_links() const { return *result_links_; }
    // The job as the API shows it, with a freshly signed result_url when it succeeded.
    nlohmann::json job_json(const jobs::Job& job) const;
    // The account's webhook signing key; empty when webhooks are off.
    std::string webhook_signing_key(const std::string& account_id) const;

    // Jobs this process follows now (admitted and not yet settled).
    std::int64_t jobs_in_flight();

    // Live events of the jobs this process follows (GET /v1/jobs/{id}/events),
    // with the positions of those waiting in the dispatch queue.
    JobEvents& events() { return events_; }

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
    // Admission through deps.settlement (inside the `atomically` of submit(),
    // after duplicate detection): sets `reserve`, `too_many_jobs` or
    // `earlier` as the SQLite path does.
    core::Status admit_through_settlement(jobs::Job& job, const ledger::ReserveTerms& terms,
                                          const std::string& idempotency_key,
                                          const std::string& fingerprint, SubmitResult& result,
                                          ledger::ReserveResult& reserve, bool& too_many_jobs,
                                          std::optional<jobs::IdempotencyRecord>& earlier);
    // The end of `final_job` through deps.settlement, then its attached
    // duplicates (each their own step); fills `attached` for announce().
    core::Status end_through_settlement(const jobs::Job& final_job, bool has_hold,
                                        const usage::UsageRecord& record,
                                        std::vector<jobs::Job>& attached);
    // A new job as admission stores it, with its dedupe key and (when near
    // duplicates are looked for) its perceptual hash.
    jobs::Job new_job(const std::string& account_id, const std::string& tenant,
                      const JobRequest& request, const PricedImage& priced, std::string_view bytes,
                      const std::string& webhook_url) const;
    // On the shared store, where duplicate detection and admission are two
    // steps, a lock across instances on `job`'s dedupe key taken before both
    // (waiting for another holder, kDedupeLockWaitMs at most), so of two
    // identical requests the second finds the first's job. An empty token
    // when no lock is needed (embedded store, or exact duplicates allowed).
    struct DedupeLock {
        std::string name;
        std::string token;
    };
    core::Result<DedupeLock> lock_duplicates(const jobs::Job& job);
    // Duplicate detection for `job`, inside the admission transaction.
    core::Result<jobs::DedupeDecision> find_duplicate(const jobs::Job& job) const;
    // Admits `job` as a duplicate that reuses result.dedupe.of's result (Reuse
    // or Attach), without a hold, inside the admission transaction; sets the
    // result's job id, balance and 202 body, and records the key if any. Too
    // many jobs attached already: outcome TooManyJobs and nothing written.
    core::Status admit_duplicate(jobs::Job& job, const std::string& idempotency_key,
                                 const std::string& fingerprint, SubmitResult& result);
    // Inside the transaction that settles `settled` (final, with its result
    // path or failure reason): settles the duplicates attached to it the same
    // way, appending them to `ended` for announce().
    core::Status settle_attached(const jobs::Job& settled, std::vector<jobs::Job>& ended);
    // Ends a duplicate that reused another job's result (no hold) in `state`:
    // its final state, its usage record (0 tokens) and its webhook delivery,
    // in the caller's transaction, or on the shared store as one settlement
    // step. False when it had ended already (shared store: another instance
    // ended it first).
    core::Result<bool> end_duplicate(const jobs::Job& job, jobs::JobState state);
    // After that transaction committed: the ended jobs' final events, and a
    // wake-up for webhooks queued for them.
    void announce(const std::vector<jobs::Job>& ended);
    // The unfinished jobs recovery takes on: all of them, or with a shared
    // store the ones whose owner stopped (now this instance's).
    core::Result<std::vector<jobs::Job>> jobs_to_recover();
    // Recovery of an unfinished duplicate attached to another job: true when
    // that job's settlement ends it (that job is still unfinished, or it
    // ended already along with it), false when it is left to fail.
    core::Result<bool> attached_settles_later(const jobs::Job& job);
    // The jobs this process follows, each with the flag that cancels it.
    struct Inflight {
        std::string tenant;
        std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
    };
    // Registers `job_id`; false (nothing registered) when `tenant` already has
    // tenant_jobs_max unfinished jobs: in this process, and with a shared
    // store on every instance (a slot per job, JobOwnership::take_tenant_slot).
    core::Result<bool> track(const std::string& job_id, const std::string& tenant);
    // Registers a recovered job, which keeps the tenant slot it had: no limit applies.
    void adopt(const std::string& job_id, const std::string& tenant);
    // The job settled or was refused: unregisters it and frees its slot.
    void untrack(const std::string& job_id);
    // On a shared store: gives up following the job and frees its tenant slot.
    void release_shared(const std::string& job_id, const std::string& tenant);
    std::shared_ptr<std::atomic<bool>> cancel_flag(const std::string& job_id);
    // Queues a dispatch of `job` under its tracked cancel flag.
    bool dispatch(const jobs::Job& job, dispatch::JobSpec spec, dispatch::Priority priority);

    JobServiceDeps deps_;
    JobEvents events_;
    std::mutex inflight_mu_;
    std::condition_variable inflight_cv_;  // notified when a job is untracked
    std::map<std::string, Inflight> inflight_;
    std::unique_ptr<ResultLinks> result_links_;
};

}  // namespace tollgate::http
