// JobService: admission and settlement of jobs.
//
// Admission (HTTP thread): probe and hash the bytes, quote, then in ONE
// transaction place the hold (keyed by the new job id) and insert the job,
// already dispatched (one commit per admission).
// Only then is the job handed to the dispatcher; if the dispatcher is full the
// hold is voided at once, so a refused job leaves nothing behind.
//
// Settlement (dispatch thread): on success the output file is written under
// a name of this delivery's own, and it and its directory are fsynced first;
// then capture + job state + usage record commit together. On
// any failure, void + job state + usage record commit together. A crash
// between the two steps leaves an unfinished job, which recover_unfinished()
// voids on the next start (an orphan result file costs nothing).
//
// Every job this process follows is tracked from before its admission until
// it settles, with the flag that cancels it; the tracked jobs of a tenant are
// what tenant_jobs_max counts (on a shared store, with a slot per job in the
// store, so that every instance's jobs count). A cancel sets the flag and lets the job's own
// thread settle it (the dispatcher's, or the caller's when it was still
// queued), so a job still settles exactly once.
#include "http/api/job_service.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/assert.h"
#include "core/hash.h"
#include "core/ids.h"
#include "core/limits.h"
#include "core/redact.h"
#include "http/api/job_usage.h"
#include "http/api/json_mapping.h"
#include "http/api/webhooks.h"
#include "image/perceptual_hash.h"
#include "ledger/rules.h"

namespace tollgate::http {
namespace {

// Writes `bytes` to a new file at `path`, then fsyncs the file and its
// directory, so the file and its name survive a power loss.
core::Status write_durable_file(const std::string& path, std::string_view bytes) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return core::make_error("storage_error", "cannot create " + path);
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n <= 0) {
            ::close(fd);
            return core::make_error("storage_error", "cannot write " + path);
        }
        done += static_cast<std::size_t>(n);
    }
    bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) return core::make_error("storage_error", "cannot sync " + path);
    std::string dir = std::filesystem::path(path).parent_path().string();
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return core::make_error("storage_error", "cannot open " + dir);
    synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) return core::make_error("storage_error", "cannot sync " + dir);
    return {};
}

// Undoes a step (untracks a job, frees a lock) when the scope ends, unless kept.
class ScopeGuard {
  public:
    explicit ScopeGuard(std::function<void()> undo) : undo_(std::move(undo)) {}
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    ~ScopeGuard() {
        if (!kept_) undo_();
    }
    void keep() { kept_ = true; }

  private:
    std::function<void()> undo_;
    bool kept_ = false;
};
// How a result file is named in its job row: relative to the data dir when
// it lies inside it (the data dir may then move), else absolute.
std::string stored_result_path(const std::filesystem::path& data_dir,
                               const std::filesystem::path& file) {
    std::filesystem::path relative = file.lexically_relative(data_dir);
    if (relative.empty() || *relative.begin() == "..") return file.string();
    return relative.string();
}

}  // namespace

core::Result<bool> JobService::track(const std::string& job_id, const std::string& tenant) {
    const bool limited = deps_.tenant_jobs_max > 0 && !tenant.empty();
    {
        std::lock_guard lock(inflight_mu_);
        // inflight_ holds at most the dispatcher's threads and queue (plus jobs
        // being admitted), so counting it is cheap and keeps no second tally.
        if (limited) {
            const auto of_tenant =
                std::count_if(inflight_.begin(), inflight_.end(),
                              [&](const auto& e) { return e.second.tenant == tenant; });
            if (of_tenant >= deps_.tenant_jobs_max) return false;
        }
        const bool fresh = inflight_.emplace(job_id, Inflight{tenant}).second;
        TOLLGATE_ASSERT(fresh);
    }
    if (!limited || deps_.ownership == nullptr) return true;
    // Other instances' jobs count too. Outside the lock: it is a round trip.
    auto took = deps_.ownership->take_tenant_slot(tenant, job_id, deps_.tenant_jobs_max,
                                                  deps_.job_timeout_ms + kHoldGraceMs);
    if (!took.ok() || !*took) {
        std::lock_guard lock(inflight_mu_);
        inflight_.erase(job_id);
    }
    return took;
}

void JobService::adopt(const std::string& job_id, const std::string& tenant) {
    std::lock_guard lock(inflight_mu_);
    const bool fresh = inflight_.emplace(job_id, Inflight{tenant}).second;
    TOLLGATE_ASSERT(fresh);
}

std::int64_t JobService::jobs_in_flight() {
    std::lock_guard lock(inflight_mu_);
    return static_cast<std::int64_t>(inflight_.size());
}

void JobService::untrack(const std::string& job_id) {
    // Its slot goes first, so that once it is untracked every instance sees it gone.
    if (deps_.ownership != nullptr) {
        std::string tenant;
        {
            std::lock_guard lock(inflight_mu_);
            if (auto it = inflight_.find(job_id); it != inflight_.end()) tenant = it->second.tenant;
        }
        release_shared(job_id, tenant);
    }
    {
        std::lock_guard lock(inflight_mu_);
        inflight_.erase(job_id);
    }
    inflight_cv_.notify_all();
}

void JobService::release_shared(const std::string& job_id, const std::string& tenant) {
    // Settled or refused: no instance needs to follow it any more.
    TOLLGATE_ASSERT(deps_.ownership != nullptr);
    deps_.ownership->release(job_id);
    if (deps_.tenant_jobs_max > 0 && !tenant.empty())
        deps_.ownership->release_tenant_slot(tenant, job_id);
}

std::shared_ptr<std::atomic<bool>> JobService::cancel_flag(const std::string& job_id) {
    std::lock_guard lock(inflight_mu_);
    auto it = inflight_.find(job_id);
    return it == inflight_.end() ? nullptr : it->second.cancelled;
}

bool JobService::dispatch(const jobs::Job& job, dispatch::JobSpec spec,
                          dispatch::Priority priority) {
    spec.cancelled = cancel_flag(job.id);
    TOLLGATE_ASSERT(spec.cancelled != nullptr);  // tracked before it is dispatched
    spec.defer_cleanup = true;  // the history delete waits until the job is settled
    const auto handed = std::chrono::steady_clock::now();
    return deps_.dispatcher->submit(
        std::move(spec),
        [this, job, handed](dispatch::JobOutcome outcome) {
            if (deps_.metrics != nullptr) {
                deps_.metrics->dispatch.observe_us(
                    std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - handed)
                        .count());
            }
            finish(job, outcome);
        },
        priority);
}

JobService::JobService(JobServiceDeps deps) : deps_(std::move(deps)) {
    TOLLGATE_ASSERT(deps_.books && deps_.plans && deps_.ledger && deps_.jobs && deps_.usage &&
                    deps_.dispatcher && deps_.routes && deps_.atomically && deps_.clock);
    TOLLGATE_ASSERT(deps_.webhooks == nullptr || !deps_.webhook_secret.empty());
    if (deps_.results_dir.empty()) {
        deps_.results_dir = (std::filesystem::path(deps_.data_dir) / "results").string();
    }
    std::filesystem::create_directories(deps_.results_dir);
    if (deps_.result_url_secret.empty()) deps_.result_url_secret = core::random_hex(32);
    result_links_ = std::make_unique<ResultLinks>(deps_.result_url_secret, deps_.result_url_ttl_s,
                                                  *deps_.clock);
    deps_.dispatcher->set_queue_listener([this](std::vector<dispatch::QueuedPosition> queued) {
        std::map<std::string, std::size_t> positions;
        for (dispatch::QueuedPosition& q : queued) {
            positions.emplace(std::move(q.job_id), q.position);
        }
        events_.set_queue_positions(positions);
    });
}

std::string JobService::webhook_signing_key(const std::string& account_id) const {
    if (deps_.webhooks == nullptr) return "";
    return http::webhook_signing_key(deps_.webhook_secret, account_id);
}

core::Result<PricedImage> JobService::price_under(std::shared_ptr<const pricing::PriceBook> book,
                                                  const std::string& tenant,
                                                  const JobRequest& request,
                                                  std::string_view bytes) const {
    if (request.workflow.empty()) {
        return core::make_error("missing_workflow", "query parameter 'workflow' is required");
    }
    if (deps_.routes->find(request.workflow) == deps_.routes->end()) {
        return core::make_error("unknown_workflow",
                                "no workflow named " + core::quote_input(request.workflow));
    }
    pricing::QuoteRequest q;
    q.workflow = request.workflow;
    q.quality = request.quality;
    q.tenant = tenant;
    q.at_unix_ms = deps_.clock->now_ms();  // the billing instant: admission
    if (!request.upscale_factor.empty()) {
        auto factor = pricing::parse_upscale_factor_milli(request.upscale_factor);
        if (!factor.ok()) return factor.error();
        q.upscale_factor_milli = *factor;
    }
    if (!request.rounding.empty()) {
        auto rounding = pricing::parse_rounding(request.rounding);
        if (!rounding) {
            return core::make_error("invalid_rounding", "rounding must be floor, ceil or nearest");
        }
        q.rounding = rounding;
    }
    auto info = image::probe(bytes);
    if (!info.ok()) return info.error();
    q.width = info->width;
    q.height = info->height;
    auto quote = pricing::quote(*book, q);
    if (!quote.ok()) return quote.error();
    // Debug only: the answer itemises the price, a job's record keeps it, and
    // a line per quote costs a locked, flushed write on every request.
    spdlog::debug("quote {} {}x{} under book {}{}{}: {}", request.workflow, q.width, q.height,
                  book->version, tenant.empty() ? "" : " for tenant ", tenant,
                  items_summary(*quote));
    // No digests: a quote needs none, and submit() computes them (0.2 ms for
    // a 100 KB photo, a quarter of a quote's own work).
    return PricedImage{*info, {}, std::move(book), *quote};
}

jobs::Job JobService::new_job(const std::string& account_id, const std::string& tenant,
                              const JobRequest& request, const PricedImage& priced,
                              std::string_view bytes, const std::string& webhook_url) const {
    const pricing::Quote& quote = priced.quote;
    jobs::Job job;
    job.id = core::new_id("job");
    job.account_id = account_id;
    job.tenant = tenant;
    job.workflow = request.workflow;
    job.tokens = quote.tokens.value;
    job.book_version = std::string(quote.book_version);
    job.quote_json = quote_to_json(priced).dump();
    job.width = priced.info.width;
    job.height = priced.info.height;
    job.format = std::string(image::to_string(priced.info.format));
    job.md5_hex = priced.digests.md5_hex;
    job.sha256_hex = priced.digests.sha256_hex;
    job.created_ms = deps_.clock->now_ms();
    job.webhook_url = webhook_url;
    // The options that shape the output, as resolved by the quote (a default
    // quality level and the same level named explicitly are one request).
    jobs::DedupeOptions options;
    options.quality = quote.quality != nullptr ? quote.quality->name : "";
    options.upscale_factor_milli = quote.upscale_factor_milli;
    options.model_input_size = quote.model_input_size();
    options.tile_side_px = quote.tiles > 0 ? quote.price->tile_side_px : 0;
    // A facade prompt's graph is part of its work: another graph on the same
    // image is another job.
    job.dedupe_key = jobs::dedupe_key(
        job.sha256_hex,
        request.graph_sha256.empty() ? job.workflow : job.workflow + "#" + request.graph_sha256,
        options);
    if (deps_.dedupe.near_enabled()) {
        auto hash = image::perceptual_hash(bytes, priced.info);
        if (hash.ok()) {
            job.phash = *hash;
        } else {
            // The worker will decide what the pixels are worth; this job
            // simply cannot be matched as a near duplicate.
            spdlog::info("job {}: no perceptual hash: {}", job.id, hash.error().message);
        }
    }
    return job;
}

core::Result<PricedImage> JobService::price(const std::string& account_id,
                                            const JobRequest& request,
                                            std::string_view bytes) const {
    auto book = deps_.books->current();
    // A quote moves no money: the account's terms may be a moment old.
    auto terms = deps_.plans->terms(account_id, *book, TermsRead::Recent);
    if (!terms.ok()) return terms.error();
    return price_under(std::move(book), terms->tenant, request, bytes);
}

dispatch::JobParams JobService::params_for(const pricing::Quote& quote) {
    dispatch::JobParams params;
    if (quote.model_input_size() > 0) params.model_input_size = quote.model_input_size();
    params.upscale_factor = static_cast<double>(quote.upscale_factor_milli) / 1000.0;
    if (quote.tiles > 0) params.tile_size = quote.price->tile_side_px;
    return params;
}

core::Result<SubmitResult> JobService::replay(SubmitResult result,
                                              const jobs::IdempotencyRecord& earlier,
                                              const std::string& fingerprint) {
    if (earlier.request_sha256 != fingerprint) {
        result.outcome = SubmitOutcome::IdempotencyMismatch;
        return result;
    }
    result.outcome = SubmitOutcome::Replayed;
    result.job_id = earlier.job_id;
    result.response_json = earlier.response_json;
    return result;
}

core::Result<SubmitResult> JobService::submit(const std::string& account_id,
                                              const JobRequest& request, std::string bytes,
                                              const std::string& idempotency_key,
                                              const std::string& webhook_url) {
    if (!webhook_url.empty()) {
        if (deps_.webhooks == nullptr) {
            return core::make_error("invalid_webhook_url", "webhooks are not enabled");
        }
        if (core::Status valid = validate_webhook_url(webhook_url, deps_.webhook_reach);
            !valid.ok()) {
            return valid.error();
        }
    }
    auto book = deps_.books->current();
    // Plan grants for the current period exist before anything is priced or held.
    auto renewed = deps_.plans->renew(account_id, *book);
    if (!renewed.ok()) return renewed.error();
    auto terms = deps_.plans->terms(account_id, *book);
    if (!terms.ok()) return terms.error();
    auto priced = price_under(book, terms->tenant, request, bytes);
    if (!priced.ok()) return priced.error();
    SubmitResult result;
    result.outcome = SubmitOutcome::Accepted;
    result.priced = std::move(priced).value();
    result.priced.digests = image::digest(bytes);
    const pricing::Quote& quote = result.priced.quote;

    // What the client asked for, as far as the key is concerned: the options
    // as sent and the exact bytes.
    std::string fingerprint;
    if (!idempotency_key.empty()) {
        fingerprint = core::sha256_hex(
            request.workflow + "\n" + request.upscale_factor + "\n" + request.quality + "\n" +
            request.rounding + "\n" + result.priced.digests.sha256_hex +
            (webhook_url.empty() ? "" : "\n" + webhook_url) +
            (request.graph_sha256.empty() ? "" : "\ngraph " + request.graph_sha256));
        auto found = deps_.jobs->find_idempotency(account_id, idempotency_key);
        if (!found.ok()) return found.error();
        if (found->has_value()) return replay(std::move(result), **found, fingerprint);
    }

    if (terms->unlimited_plan != nullptr) {
        auto decision = deps_.plans->check_fair_use(account_id, *book, *terms->unlimited_plan);
        if (!decision.ok()) return decision.error();
        result.fair_use = *decision;
        if (decision->verdict == FairUseVerdict::Reject) {
            result.outcome = SubmitOutcome::FairUseExceeded;
            return result;
        }
        result.deprioritized = decision->verdict == FairUseVerdict::Deprioritize;
    }

    jobs::Job job = new_job(account_id, terms->tenant, request, result.priced, bytes, webhook_url);

    auto tracked_now = track(job.id, terms->tenant);
    if (!tracked_now.ok()) return tracked_now.error();
    if (!*tracked_now) {
        result.outcome = SubmitOutcome::TenantBusy;
        return result;
    }
    ScopeGuard tracked([this, id = job.id] { untrack(id); });
    // Owned before it is stored, so an instance that dies after storing it
    // leaves it to another one.
    if (deps_.ownership != nullptr) {
        if (core::Status s = deps_.ownership->own(job.id); !s.ok()) return s.error();
    }
    auto dedupe_lock = lock_duplicates(job);
    if (!dedupe_lock.ok()) return dedupe_lock.error();
    ScopeGuard unlocked([this, &dedupe_lock] {
        if (!dedupe_lock->token.empty())
            deps_.ownership->unlock(dedupe_lock->name, dedupe_lock->token);
    });

    // The key check, the hold, the job row and the key's record commit
    // together: two concurrent requests with one key admit one job.
    ledger::ReserveTerms reserve_terms = terms->reserve;
    reserve_terms.memo = "quote under price book " + job.book_version;
    reserve_terms.ttl_ms = deps_.job_timeout_ms + kHoldGraceMs;
    ledger::ReserveResult reserve{};
    std::optional<jobs::IdempotencyRecord> earlier;
    bool too_many_jobs = false;
    const auto admitting = std::chrono::steady_clock::now();
    core::Status admitted = deps_.atomically([&]() -> core::Status {
        if (!idempotency_key.empty()) {
            auto found = deps_.jobs->find_idempotency(account_id, idempotency_key);
            if (!found.ok()) return found.error();
            if (found->has_value()) {
                earlier = std::move(*found);
                return {};
            }
        }
        // Looked for in this transaction, so of two identical requests at
        // once the second sees the first's job and attaches to it.
        if (deps_.dedupe.enabled()) {
            auto decision = find_duplicate(job);
            if (!decision.ok()) return decision.error();
            result.dedupe = *decision;
            switch (decision->action) {
                case jobs::DedupeAction::Reject:
                    return {};
                case jobs::DedupeAction::Reuse:
                case jobs::DedupeAction::Attach:
                    return admit_duplicate(job, idempotency_key, fingerprint, result);
                case jobs::DedupeAction::Proceed:
                    break;
            }
            // A near duplicate flagged: admitted and charged as usual.
            job.dedupe_kind = decision->kind;
            job.dedupe_of = decision->of;
            job.dedupe_distance = decision->distance;
        }
        if (deps_.settlement != nullptr) {
            return admit_through_settlement(job, reserve_terms, idempotency_key, fingerprint,
                                            result, reserve, too_many_jobs, earlier);
        }
        if (deps_.account_jobs_max > 0) {
            auto unfinished = deps_.jobs->count_unfinished(account_id);
            if (!unfinished.ok()) return unfinished.error();
            if (*unfinished >= deps_.account_jobs_max) {
                too_many_jobs = true;
                return {};
            }
        }
        auto r = deps_.ledger->reserve(account_id, quote.tokens, job.id, reserve_terms);
        if (!r.ok()) return r.error();
        reserve = *r;
        if (reserve.outcome != ledger::ReserveOutcome::Held) return {};
        if (core::Status s = deps_.jobs->insert(job); !s.ok()) return s;
        // Dispatched in the same commit: the job goes to the dispatcher next,
        // and a crash before that leaves it to recovery either way.
        if (core::Status s = deps_.jobs->transition(job.id, jobs::JobState::Dispatched, job);
            !s.ok()) {
            return s;
        }
        result.job_id = job.id;
        result.available = reserve.available;
        result.response_json = accepted_to_json(result).dump();
        if (idempotency_key.empty()) return {};
        return deps_.jobs->insert_idempotency({account_id, idempotency_key, fingerprint, job.id,
                                               202, result.response_json, job.created_ms});
    });
    if (!admitted.ok()) return admitted.error();
    if (earlier) return replay(std::move(result), *earlier, fingerprint);
    switch (result.dedupe.action) {
        case jobs::DedupeAction::Reject:
            result.outcome = SubmitOutcome::Duplicate;
            return result;
        case jobs::DedupeAction::Reuse:
        case jobs::DedupeAction::Attach:
            // Admitted without a hold (or refused as TooManyJobs): nothing to dispatch.
            if (result.outcome == SubmitOutcome::Accepted && !job.webhook_url.empty() &&
                job.state == jobs::JobState::Succeeded && deps_.on_webhook_queued) {
                deps_.on_webhook_queued();
            }
            return result;
        case jobs::DedupeAction::Proceed:
            break;
    }
    if (too_many_jobs) {
        result.outcome = SubmitOutcome::TooManyJobs;
        return result;
    }
    if (reserve.outcome == ledger::ReserveOutcome::InsufficientBalance) {
        result.outcome = SubmitOutcome::InsufficientBalance;
        result.available = reserve.available;
        result.job_id.clear();
        return result;
    }
    TOLLGATE_ASSERT(reserve.outcome == ledger::ReserveOutcome::Held);  // fresh id: no replay
    if (deps_.metrics != nullptr) {
        deps_.metrics->reserve.observe_us(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::steady_clock::now() - admitting)
                                              .count());
        deps_.metrics->jobs_admitted.fetch_add(1, std::memory_order_relaxed);
        deps_.metrics->tokens_held.fetch_add(static_cast<std::uint64_t>(job.tokens),
                                             std::memory_order_relaxed);
    }

    WorkflowRoute& route = deps_.routes->at(request.workflow);
    dispatch::JobSpec spec;
    spec.job_id = job.id;
    spec.pool = request.workflow;  // the scheduler picks the worker
    spec.workflow = request.graph != nullptr ? request.graph.get() : &route.workflow;
    spec.owned_workflow = request.graph;
    spec.image_bytes = std::move(bytes);
    spec.image_extension = std::string(image::file_extension(result.priced.info.format));
    spec.timeout_ms = deps_.job_timeout_ms;
    spec.params = params_for(quote);
    // The prompt id is kept as soon as the worker accepts it, so a restart can
    // re-attach to the prompt instead of losing it.
    spec.on_queued = [this, id = job.id](const std::string& worker, const std::string& prompt_id) {
        core::Status kept = deps_.jobs->set_prompt(id, worker, prompt_id);
        if (!kept.ok())
            spdlog::error("job {}: cannot keep prompt id: {}", id, kept.error().message);
        events_.publish(id, "state", {{"job_id", id}, {"state", "queued"}}, false);
    };
    spec.on_progress = [this, id = job.id](const dispatch::JobProgress& p) {
        using Stage = dispatch::JobProgress::Stage;
        if (p.stage == Stage::Running) {
            events_.publish(id, "state", {{"job_id", id}, {"state", "running"}}, false);
            return;
        }
        nlohmann::json data = {{"job_id", id}, {"node", p.node}};
        if (p.stage == Stage::Step) {
            data["value"] = p.value;
            data["max"] = p.max;
        }
        events_.publish(id, "progress", data, false);
    };

    job.state = jobs::JobState::Dispatched;
    spdlog::info("job {} admitted: {} {}x{} under book {}: {}", job.id, job.workflow,
                 result.priced.info.width, result.priced.info.height, job.book_version,
                 items_summary(result.priced.quote));
    const dispatch::Priority priority = result.deprioritized   ? dispatch::Priority::Low
                                        : terms->high_priority ? dispatch::Priority::High
                                                               : dispatch::Priority::Normal;
    // From here the job's settlement untracks it.
    tracked.keep();
    if (!dispatch(job, std::move(spec), priority)) {
        ScopeGuard untracked([this, id = job.id] { untrack(id); });
        // The key's record goes with the refused job, so a retry with the same
        // key is admitted afresh.
        // The client hears of this refusal in the answer, not by webhook.
        jobs::Job refused = job;
        refused.webhook_url.clear();
        core::Status s = deps_.atomically([&]() -> core::Status {
            if (core::Status f = fail_job(refused, "gateway busy: dispatch queue full", nullptr);
                !f.ok()) {
                return f;
            }
            if (idempotency_key.empty()) return {};
            return deps_.jobs->delete_idempotency(account_id, idempotency_key);
        });
        if (!s.ok()) return s.error();
        result.outcome = SubmitOutcome::Busy;
        result.response_json.clear();
        return result;
    }
    return result;
}

void JobService::finish(const jobs::Job& job, const dispatch::JobOutcome& outcome) {
    ScopeGuard tracked([this, id = job.id] { untrack(id); });
    const auto flag = cancel_flag(job.id);
    if (outcome.kind == dispatch::JobOutcomeKind::Cancelled || (flag && flag->load())) {
        const std::string reason = outcome.kind == dispatch::JobOutcomeKind::Cancelled
                                       ? outcome.reason
                                       : "cancelled: by the client; the worker's outcome (" +
                                             std::string(dispatch::to_string(outcome.kind)) +
                                             ") was discarded";
        core::Status s = fail_job(job, reason, &outcome);
        if (!s.ok()) spdlog::error("job {}: cannot record cancel: {}", job.id, s.error().message);
        return;
    }
    if (outcome.kind != dispatch::JobOutcomeKind::Succeeded) {
        std::string reason = std::string(dispatch::to_string(outcome.kind)) + ": " + outcome.reason;
        core::Status s = fail_job(job, reason, &outcome);
        if (!s.ok()) spdlog::error("job {}: cannot record failure: {}", job.id, s.error().message);
        return;
    }
    // Each delivery stores its result under a name of its own, durably and
    // before the transaction, so the committer (which every job's commits
    // wait on) never waits for these fsyncs. Only the delivery whose
    // transaction captures the hold gets its name recorded; a duplicate or
    // late delivery for a job that already ended removes its own file and
    // never touches the result of the one that settled it.
    const std::string path =
        (std::filesystem::path(deps_.results_dir) / (job.id + "-" + core::random_hex(6) + ".png"))
            .string();
    const std::string relative = stored_result_path(deps_.data_dir, path);
    core::Status stored = write_durable_file(path, outcome.output_bytes);
    if (!stored.ok()) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        (void)fail_job(job, "cannot store result: " + stored.error().message, &outcome);
        return;
    }
    jobs::Job done = job;
    done.worker = outcome.worker_url;
    done.prompt_id = outcome.prompt_id;
    done.result_path = relative;
    done.finished_ms = deps_.clock->now_ms();
    const usage::UsageRecord record =
        job_usage(done, jobs::JobState::Succeeded, job.tokens, &outcome);
    std::vector<jobs::Job> attached;
    jobs::Job settled = done;
    settled.state = jobs::JobState::Succeeded;
    core::Status s =
        deps_.settlement != nullptr
            ? end_through_settlement(settled, true, record, attached)
            : deps_.atomically([&]() -> core::Status {
                  attached.clear();
                  auto captured = deps_.ledger->capture(job.id);
                  if (!captured.ok()) return captured.error();
                  if (*captured != ledger::SettleOutcome::Settled) {
                      return core::make_error("hold_not_open",
                                              "hold for " + job.id + " is not open");
                  }
                  core::Status t = deps_.jobs->transition(job.id, jobs::JobState::Succeeded, done);
                  if (!t.ok()) return t;
                  core::Status u = deps_.usage->write(record);
                  if (!u.ok()) return u;
                  if (!job.webhook_url.empty() && deps_.webhooks != nullptr) {
                      core::Status w = queue_webhook(*deps_.webhooks, done,
                                                     jobs::JobState::Succeeded, done.finished_ms);
                      if (!w.ok()) return w;
                  }
                  return settle_attached(settled, attached);
              });
    if (!s.ok()) {
        spdlog::error("job {}: cannot settle success: {}", job.id, s.error().message);
        std::error_code ec;
        std::filesystem::remove(path, ec);  // this delivery's own: nothing names it
        return;
    }
    done.state = jobs::JobState::Succeeded;
    if (deps_.metrics != nullptr) {
        deps_.metrics->jobs_succeeded.fetch_add(1, std::memory_order_relaxed);
        deps_.metrics->tokens_captured.fetch_add(static_cast<std::uint64_t>(job.tokens),
                                                 std::memory_order_relaxed);
    }
    events_.publish(job.id, "state", job_json(done), true);
    if (!job.webhook_url.empty() && deps_.on_webhook_queued) deps_.on_webhook_queued();
    announce(attached);
    spdlog::info("job {} succeeded on {}: {} tokens captured, queue {} ms, execution {} ms", job.id,
                 outcome.worker_url, job.tokens, outcome.queue_wait_ms, outcome.execution_ms);
}

nlohmann::json JobService::job_json(const jobs::Job& job) const {
    return job_to_json(job, job.state == jobs::JobState::Succeeded ? result_links_->url_for(job.id)
                                                                   : std::string());
}

core::Result<CancelResult> JobService::cancel(const std::string& account_id,
                                              const std::string& job_id) {
    CancelResult result;
    auto found = deps_.jobs->get(job_id);
    if (!found.ok()) return found.error();
    if (!found->has_value() || (*found)->account_id != account_id) return result;
    if (jobs::is_final((*found)->state)) {
        result.outcome = CancelOutcome::AlreadyFinished;
        result.job = **found;
        return result;
    }
    if (const auto flag = cancel_flag(job_id)) {
        flag->store(true);
        spdlog::info("job {}: cancel requested", job_id);
        // Still in the gateway's queue: settled right here, on this thread.
        (void)deps_.dispatcher->cancel(job_id);
        std::unique_lock lock(inflight_mu_);
        inflight_cv_.wait_for(lock, std::chrono::milliseconds(deps_.cancel_wait_ms),
                              [&] { return inflight_.count(job_id) == 0; });
    } else {
        // Nothing in this process follows the job (a crash left it before
        // recovery saw it): nothing runs, so it is settled here. A job that
        // settled meanwhile keeps its outcome (the void then conflicts).
        core::Status s = fail_job(**found, "cancelled: by the client", nullptr);
        if (!s.ok()) spdlog::warn("job {}: cancel found it settled: {}", job_id, s.error().message);
    }
    auto after = deps_.jobs->get(job_id);
    if (!after.ok()) return after.error();
    TOLLGATE_ASSERT(after->has_value());  // jobs are never deleted
    result.job = **after;
    if (!jobs::is_final(result.job.state)) {
        result.outcome = CancelOutcome::Cancelling;
    } else if (result.job.state == jobs::JobState::Failed &&
               result.job.failure_reason.starts_with("cancelled")) {
        result.outcome = CancelOutcome::Cancelled;
    } else {
        result.outcome = CancelOutcome::AlreadyFinished;
    }
    return result;
}

core::Status JobService::fail_job(const jobs::Job& job, const std::string& reason,
                                  const dispatch::JobOutcome* outcome) {
    jobs::Job failed = job;
    failed.failure_reason = reason;
    failed.finished_ms = deps_.clock->now_ms();
    if (outcome != nullptr) {
        failed.worker = outcome->worker_url.empty() ? job.worker : outcome->worker_url;
        failed.prompt_id = outcome->prompt_id;
    }
    const usage::UsageRecord record = job_usage(failed, jobs::JobState::Failed, 0, outcome);
    std::vector<jobs::Job> attached;
    jobs::Job settled = failed;
    settled.state = jobs::JobState::Failed;
    core::Status s =
        deps_.settlement != nullptr
            ? end_through_settlement(settled, !job.dedupe_reused, record, attached)
            : deps_.atomically([&]() -> core::Status {
                  attached.clear();
                  // A duplicate that reused another job's result never had a hold.
                  if (!job.dedupe_reused) {
                      auto voided = deps_.ledger->void_hold(job.id, reason);
                      if (!voided.ok()) return voided.error();
                      if (*voided == ledger::SettleOutcome::Conflict) {
                          return core::make_error("hold_not_open",
                                                  "hold for " + job.id + " was captured");
                      }
                  }
                  core::Status t = deps_.jobs->transition(job.id, jobs::JobState::Failed, failed);
                  if (!t.ok()) return t;
                  core::Status u = deps_.usage->write(record);
                  if (!u.ok()) return u;
                  if (!job.webhook_url.empty() && deps_.webhooks != nullptr) {
                      core::Status w = queue_webhook(*deps_.webhooks, failed,
                                                     jobs::JobState::Failed, failed.finished_ms);
                      if (!w.ok()) return w;
                  }
                  if (job.dedupe_reused) return {};  // nothing attaches to a reused job
                  return settle_attached(settled, attached);
              });
    if (s.ok()) {
        failed.state = jobs::JobState::Failed;
        if (deps_.metrics != nullptr) {
            deps_.metrics->jobs_failed.fetch_add(1, std::memory_order_relaxed);
            if (!job.dedupe_reused) {
                deps_.metrics->tokens_released.fetch_add(static_cast<std::uint64_t>(job.tokens),
                                                         std::memory_order_relaxed);
            }
        }
        events_.publish(job.id, "state", job_json(failed), true);
        spdlog::warn("job {} failed, {}: {}", job.id,
                     job.dedupe_reused ? "nothing was held" : "hold voided", reason);
    }
    if (s.ok() && !job.webhook_url.empty() && deps_.on_webhook_queued) deps_.on_webhook_queued();
    if (s.ok()) announce(attached);
    return s;
}

core::Result<std::vector<jobs::Job>> JobService::jobs_to_recover() {
    if (deps_.ownership == nullptr) return deps_.jobs->unfinished();
    // Shared store: only the jobs no live instance follows.
    auto ids = deps_.ownership->take_orphans(kRecoveredJobsMax);
    if (!ids.ok()) return ids.error();
    std::vector<jobs::Job> out;
    for (const std::string& id : *ids) {
        auto job = deps_.jobs->get(id);
        if (!job.ok()) return job.error();
        if (job->has_value() && !jobs::is_final((*job)->state)) {
            out.push_back(std::move(**job));
            continue;
        }
        // Settled before its owner stopped; the owner may have died before
        // it ended the duplicates attached to it, which no instance follows.
        if (job->has_value() && !(*job)->dedupe_reused) {
            std::vector<jobs::Job> ended;
            if (core::Status s = settle_attached(**job, ended); !s.ok()) return s.error();
            announce(ended);
        }
        deps_.ownership->release(id);
    }
    return out;
}

core::Result<int> JobService::recover_unfinished() {
    auto open = jobs_to_recover();
    if (!open.ok()) return open.error();
    int recovered = 0;
    const std::int64_t now = deps_.clock->now_ms();
    for (const jobs::Job& job : *open) {
        ++recovered;
        // A duplicate attached to a job in flight settles with that job (its
        // re-attachment below, or its failure, which also ends this one).
        if (job.dedupe_reused) {
            auto settles_later = attached_settles_later(job);
            if (!settles_later.ok()) return settles_later.error();
            if (*settles_later) continue;
        }
        // A job a worker accepted is followed again on that worker, for the time it has left.
        const std::int64_t left_ms = job.created_ms + deps_.job_timeout_ms - now;
        auto route = deps_.routes->find(job.workflow);
        if (job.state == jobs::JobState::Dispatched && !job.prompt_id.empty() &&
            !job.worker.empty() && left_ms > 0 && route != deps_.routes->end()) {
            dispatch::JobSpec spec;
            spec.job_id = job.id;
            spec.worker_url = job.worker;
            spec.workflow = &route->second.workflow;
            spec.timeout_ms = static_cast<int>(left_ms);
            spec.resume_prompt_id = job.prompt_id;
            adopt(job.id, job.tenant);
            if (dispatch(job, std::move(spec), dispatch::Priority::Normal)) {
                spdlog::info("job {}: re-attached to prompt {} on {}", job.id, job.prompt_id,
                             job.worker);
                continue;
            }
            untrack(job.id);
        }
        core::Status s = fail_job(job, "interrupted by a gateway restart", nullptr);
        if (!s.ok()) return s.error();
        if (deps_.ownership != nullptr) release_shared(job.id, job.tenant);
    }
    return recovered;
}

core::Result<int> JobService::sweep_expired_holds(std::size_t limit) {
    auto holds = deps_.ledger->expired_open_holds(deps_.clock->now_ms(), limit);
    if (!holds.ok()) return holds.error();
    int swept = 0;
    for (const ledger::Hold& hold : *holds) {
        auto job = deps_.jobs->get(hold.key);
        if (!job.ok()) return job.error();
        if (job->has_value() && !jobs::is_final((*job)->state)) {
            core::Status s =
                fail_job(**job, "hold expired: nothing finished the job in time", nullptr);
            if (!s.ok()) return s.error();
        } else {
            // A hold with no job to settle it (or whose job already ended) is released.
            auto voided = deps_.ledger->void_hold(hold.key, "hold expired");
            if (!voided.ok()) return voided.error();
        }
        ++swept;
    }
    return swept;
}

core::Status JobService::admit_through_settlement(
    jobs::Job& job, const ledger::ReserveTerms& terms, const std::string& idempotency_key,
    const std::string& fingerprint, SubmitResult& result, ledger::ReserveResult& reserve,
    bool& too_many_jobs, std::optional<jobs::IdempotencyRecord>& earlier) {
    auto limit = ledger::check_terms(terms);
    if (!limit.ok()) return limit.error();
    jobs::AdmitStep step;
    step.job = job;
    step.credit_limit_tokens = *limit;
    step.hold_ttl_ms = terms.ttl_ms;
    step.hold_memo = terms.memo.substr(0, static_cast<std::size_t>(core::limits::kReasonBytesMax));
    step.now_ms = deps_.clock->now_ms();
    step.account_jobs_max = deps_.account_jobs_max;
    result.job_id = job.id;
    if (!idempotency_key.empty()) {
        // The script writes the balance after the hold in place of the placeholder.
        result.available = core::Tokens(jobs::kAvailablePlaceholder);
        step.idempotency = jobs::IdempotencyRecord{job.account_id,
                                                   idempotency_key,
                                                   fingerprint,
                                                   job.id,
                                                   202,
                                                   accepted_to_json(result).dump(),
                                                   job.created_ms};
    }
    auto done = deps_.settlement->admit(step);
    if (!done.ok()) return done.error();
    reserve.available = core::Tokens(done->available);
    switch (done->outcome) {
        case jobs::AdmitOutcome::Admitted:
            reserve.outcome = ledger::ReserveOutcome::Held;
            result.available = reserve.available;
            result.response_json =
                idempotency_key.empty() ? accepted_to_json(result).dump() : done->response_json;
            return {};
        case jobs::AdmitOutcome::Replayed:
            earlier = std::move(done->earlier);
            return {};
        case jobs::AdmitOutcome::TooManyJobs:
            too_many_jobs = true;
            return {};
        case jobs::AdmitOutcome::InsufficientBalance:
            reserve.outcome = ledger::ReserveOutcome::InsufficientBalance;
            return {};
        case jobs::AdmitOutcome::UnknownAccount:
            return core::make_error("unknown_account", "no such account");
    }
    TOLLGATE_ASSERT(false);
    return {};
}

core::Status JobService::end_through_settlement(const jobs::Job& final_job, bool has_hold,
                                                const usage::UsageRecord& record,
                                                std::vector<jobs::Job>& attached) {
    jobs::EndStep step{final_job, has_hold, record, std::nullopt};
    if (!final_job.webhook_url.empty() && deps_.webhooks != nullptr)
        step.webhook = webhook_delivery(final_job, final_job.state, final_job.finished_ms);
    auto ended = deps_.settlement->end(step);
    if (!ended.ok()) return ended.error();
    if (*ended == jobs::EndOutcome::HoldNotOpen) {
        return core::make_error("hold_not_open", "hold for " + final_job.id + " is not open");
    }
    if (*ended == jobs::EndOutcome::JobNotOpen) {
        return core::make_error("illegal_transition", "job " + final_job.id + " has ended");
    }
    if (final_job.dedupe_reused) return {};  // nothing attaches to a reused job
    // Each attached duplicate ends in a step of its own; one left unfinished
    // by a crash here is ended by recovery (attached_settles_later()).
    return deps_.atomically([&]() -> core::Status { return settle_attached(final_job, attached); });
}

}  // namespace tollgate::http
