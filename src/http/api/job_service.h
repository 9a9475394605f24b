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
    const pricing::PriceBook* price_book = nullptr;
    ledger::Ledger* ledger = nullptr;
    jobs::JobStore* jobs = nullptr;
    usage::UsageSink* usage = nullptr;
    dispatch::Dispatcher* dispatcher = nullptr;
    std::map<std::string, WorkflowRoute>* routes = nullptr;
    Atomically atomically;
    const core::Clock* clock = nullptr;
    std::string data_dir;  // results are written under <data_dir>/results/
    int job_timeout_ms = 600'000;
};

// What the client asked for, from the query string.
struct JobRequest {
    std::string workflow;
    std::string upscale_factor;  // as sent; empty means 1
    std::string rounding;        // optional override, as sent
};

// The image read from the bytes (never from what the client declares) and
// its price.
struct PricedImage {
    image::ImageInfo info;
    image::Digests digests;
    pricing::Quote quote;
};

enum class SubmitOutcome { Accepted, InsufficientBalance, Busy };

struct SubmitResult {
    SubmitOutcome outcome;
    PricedImage priced;
    std::string job_id;      // when accepted
    core::Tokens available;  // after the hold, or the shortfall's balance
};

class JobService {
  public:
    explicit JobService(JobServiceDeps deps);

    // Intake and pricing only; charges nothing. Errors carry the codes of
    // image::probe and pricing::quote.
    core::Result<PricedImage> price(const JobRequest& request, std::string_view bytes) const;

    core::Result<SubmitResult> submit(const std::string& account_id, const JobRequest& request,
                                      std::string bytes);

    // Settles a dispatched job (called by the dispatcher's thread).
    void finish(const jobs::Job& job, const dispatch::JobOutcome& outcome);

    // After a restart: jobs that were admitted or dispatched are failed and
    // their holds voided. Returns how many were recovered.
    core::Result<int> recover_unfinished();

    const std::string& data_dir() const { return deps_.data_dir; }

  private:
    core::Status fail_job(const jobs::Job& job, const std::string& reason,
                          const dispatch::JobOutcome* outcome);
    JobServiceDeps deps_;
};

}  // namespace tollgate::http
