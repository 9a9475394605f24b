// The simulation's steps as client, worker and clock: submits, deliveries,
// clock moves, the sweepers and price book swaps. Each step notes one trace
// line, and checks what must hold right after it when no fault was injected
// during it (the auditor then checks everything else).
//
// Threads: the simulation's thread.
#pragma once

#include <string>
#include <vector>

#include "sim/sim.h"

namespace tollgate::sim {

inline void Sim::step_submit() {
    const std::size_t account = below(model_.accounts.size());
    std::size_t request = below(kRequestKinds);
    const std::string key = choose_key(account, &request);
    clock_.advance_ms(1);  // every hold gets an instant of its own: see the top of sim.h
    std::string line = "submit " + label(account) + " " + request_text(request) +
                       (key.empty() ? "" : " key " + key);
    const std::uint64_t injected = faults_.injected();
    const std::size_t holds_before = observed_.holds.size();
    http::JobRequest job_request{"person", kRequests[request].upscale, "", ""};
    pending_ = PendingSubmit{account, key, request_text(request)};
    auto r = gw_->service().submit(id(account), job_request, request_png(request), key);
    pending_.reset();
    if (!r.ok()) {
        note(line + ": error " + r.error().code + fault_note(injected));
        submit_without_answer(account, key, request_text(request));
        if (!faulted_since(injected))
            fail("submit failed with no fault injected: " + r.error().message);
        return;
    }
    line += fault_note(injected);
    const bool admitted =
        r->outcome == http::SubmitOutcome::Accepted || r->outcome == http::SubmitOutcome::Busy;
    if (!faulted_since(injected)) expect_.hold_count = holds_before + (admitted ? 1 : 0);
    on_submitted(account, key, request, *r, std::move(line));
}

// No key, a new key, or one used before: mostly for the same request again
// (a replay), sometimes for another one (a mismatch).
inline std::string Sim::choose_key(std::size_t account, std::size_t* request) {
    const std::uint64_t roll = below(10);
    if (roll < 4) return "";
    std::vector<std::string> used;
    for (const auto& [account_key, use] : model_.keys) {
        if (account_key.first == account) used.push_back(account_key.second);
    }
    if (roll < 7 || used.empty()) {
        std::string key = "key-" + std::to_string(next_name_++);
        model_.keys.emplace(std::make_pair(account, key), KeyUse{});
        return key;
    }
    const std::string key = used[below(used.size())];
    const KeyUse& use = model_.keys.at({account, key});
    if (chance(700) && !use.request.empty()) {
        for (std::size_t kind = 0; kind < kRequestKinds; ++kind) {
            if (request_text(kind) == use.request) *request = kind;
        }
    }
    return key;
}

// The submit's answer never came (it failed, or the process died in it): it
// may have admitted a job, and its key may now name it.
inline void Sim::submit_without_answer(std::size_t account, const std::string& key,
                                       const std::string& request) {
    ++model_.ambiguous_submits;
    if (key.empty()) return;
    KeyUse& use = model_.keys.at({account, key});
    if (use.state == KeyUse::State::Unrecorded) {
        use.state = KeyUse::State::Unknown;
        use.request = request;
    } else if (use.state == KeyUse::State::Unknown && use.request != request) {
        use.request.clear();
    }
}

inline void Sim::on_submitted(std::size_t account, const std::string& key, std::size_t request,
                              const http::SubmitResult& r, std::string line) {
    const std::string quote = std::to_string(r.priced.quote.tokens.value);
    switch (r.outcome) {
        case http::SubmitOutcome::Accepted:
            return on_accepted(account, key, request, r, std::move(line));
        case http::SubmitOutcome::Replayed:
        case http::SubmitOutcome::IdempotencyMismatch:
            return on_replayed(account, key, request, r, std::move(line));
        case http::SubmitOutcome::InsufficientBalance:
            note(line + ": insufficient balance for " + quote);
            return check_refusal(account, r.priced.quote.tokens.value, "job");
        case http::SubmitOutcome::FairUseExceeded:
            note(line + ": fair use exceeded (" + r.fair_use.limit + ")");
            if (label(account) != "unlimited") fail("fair use refused a job of " + label(account));
            return;
        case http::SubmitOutcome::Duplicate:
            // The simulation turns duplicate detection off: it resubmits the
            // same few images on purpose.
            fail(line + ": refused as a duplicate with duplicate detection off");
            return;
        case http::SubmitOutcome::TenantBusy:
            // The simulation sets no tenant cap, so nothing may be refused for one.
            fail(line + ": refused for a tenant cap that is not set");
            return;
        case http::SubmitOutcome::TooManyJobs: {
            // Refused before anything was held: only when the account had
            // as many unfinished jobs as the cap allows.
            note(line + ": too many unfinished jobs");
            std::int64_t unfinished = 0;
            for (const auto& [job_id, job] : observed_.jobs) {
                if (job.account_id == id(account) && !jobs::is_final(job.state)) ++unfinished;
            }
            if (account_jobs_max_ == 0 || unfinished < account_jobs_max_) {
                fail("refused as too many jobs with " + std::to_string(unfinished) +
                     " unfinished under a cap of " + std::to_string(account_jobs_max_));
            }
            return;
        }
        case http::SubmitOutcome::Busy: {
            SimJob job;
            job.id = r.job_id;
            job.account = account;
            job.quote_tokens = r.priced.quote.tokens.value;
            const std::size_t index = model_.add_job(job);
            note(line + ": busy, job#" + std::to_string(index) + " failed at once");
            expect_.job = JobExpectation{r.job_id, "a busy refusal", "failed", {}};
            return;
        }
    }
}

inline void Sim::on_accepted(std::size_t account, const std::string& key, std::size_t request,
                             const http::SubmitResult& r, std::string line) {
    if (model_.job_index.count(r.job_id) != 0) {
        fail("submit accepted " + model_.job_name(r.job_id) + " again");
        return;
    }
    SimJob job;
    job.id = r.job_id;
    job.account = account;
    job.quote_tokens = r.priced.quote.tokens.value;
    job.in_flight = true;  // its row is taken from the audit after this step
    const std::size_t index = model_.add_job(job);
    note(line + ": accepted job#" + std::to_string(index) + " for " +
         std::to_string(*job.quote_tokens) + " tokens under " +
         std::string(r.priced.book->version));
    expect_.job = JobExpectation{r.job_id, "an admission", "dispatched", {}};
    if (!key.empty()) {
        KeyUse& use = model_.keys.at({account, key});
        if (use.state == KeyUse::State::Admitted)
            fail("key " + key + " of " + model_.job_name(use.job_id) + " admitted another job");
        use = KeyUse{KeyUse::State::Admitted, request_text(request), r.job_id};
    }
    gw_->wait_until_parked();
}

inline void Sim::on_replayed(std::size_t account, const std::string& key, std::size_t request,
                             const http::SubmitResult& r, std::string line) {
    const bool replayed = r.outcome == http::SubmitOutcome::Replayed;
    if (key.empty()) {
        fail("a submit without a key was answered as a replay");
        return;
    }
    KeyUse& use = model_.keys.at({account, key});
    note(line + (replayed ? ": replayed " + model_.job_name(r.job_id) : ": key mismatch"));
    if (use.state == KeyUse::State::Unrecorded) {
        fail("key " + key + " admitted nothing, yet was answered as a replay");
        return;
    }
    const std::string text = request_text(request);
    if (replayed && use.state == KeyUse::State::Admitted && r.job_id != use.job_id)
        fail("key " + key + " admitted " + model_.job_name(use.job_id) + ", replayed another job");
    if (!use.request.empty() && replayed != (use.request == text))
        fail("key " + key + " first sent " + use.request + ", now " + text +
             (replayed ? ", and was replayed" : ", and was refused as a mismatch"));
    if (replayed) {
        use.state = KeyUse::State::Admitted;
        use.job_id = r.job_id;
        use.request = text;
    }
}

inline void Sim::step_deliver(bool duplicate) {
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < model_.jobs.size(); ++i) {
        const SimJob& job = model_.jobs[i];
        if (job.dispatched && (duplicate ? !job.in_flight && job.deliveries > 0 : job.in_flight))
            candidates.push_back(i);
    }
    if (candidates.empty()) return step_advance();
    const std::size_t index = candidates[below(candidates.size())];
    SimJob& job = model_.jobs[index];
    const dispatch::JobOutcome outcome = random_outcome(job);
    const bool success = outcome.kind == dispatch::JobOutcomeKind::Succeeded;
    const JobView before = observed_.view(job.id);
    job.in_flight = false;
    ++job.deliveries;
    const std::uint64_t injected = faults_.injected();
    const std::string what = std::string(duplicate ? "a duplicate " : "a ") + "delivery of " +
                             dispatch::to_string(outcome.kind);
    expect_.files_touched = true;
    gw_->service().finish(*job.dispatched, outcome);
    note(what.substr(2) + " for job#" + std::to_string(index) + " (" + before.state + ")" +
         fault_note(injected));
    if (faulted_since(injected)) return;
    const bool finished = before.state == "succeeded" || before.state == "failed";
    expect_.job = JobExpectation{job.id, what, success ? "succeeded" : "failed",
                                 finished ? std::optional<JobView>(before) : std::nullopt};
}

inline dispatch::JobOutcome Sim::random_outcome(const SimJob& job) {
    using Kind = dispatch::JobOutcomeKind;
    static constexpr Kind kKinds[] = {
        Kind::Succeeded,         Kind::Succeeded, Kind::Succeeded,       Kind::Succeeded,
        Kind::Succeeded,         Kind::Succeeded, Kind::ExecutionFailed, Kind::Rejected,
        Kind::WorkerUnreachable, Kind::TimedOut,  Kind::TimedOut,        Kind::ProtocolError};
    dispatch::JobOutcome outcome;
    outcome.kind = kKinds[below(sizeof(kKinds) / sizeof(kKinds[0]))];
    outcome.worker_url = job.dispatched->worker;
    outcome.prompt_id = "prompt-" + std::to_string(next_name_++);
    outcome.queue_wait_ms = static_cast<std::int64_t>(below(2000));
    outcome.execution_ms = 100 + static_cast<std::int64_t>(below(5000));
    if (outcome.kind == Kind::Succeeded) {
        outcome.output_bytes = "\x89PNG simulated result";
    } else {
        outcome.reason = "simulated";
    }
    return outcome;
}

inline void Sim::step_advance() {
    const std::int64_t ms = 1 + static_cast<std::int64_t>(below(300'000));
    clock_.advance_ms(ms);
    note("clock +" + std::to_string(ms) + " ms to " + format_instant(clock_.now_ms()));
}

// To, just before or just after an instant where something changes: a grant
// or rollover expiry, a hold TTL, a month boundary, a price window edge; or
// far ahead, across several of them at once.
inline void Sim::step_jump() {
    constexpr std::int64_t kDayMs = 86'400'000;
    const std::int64_t now = clock_.now_ms();
    std::vector<std::int64_t> targets = observed_.instants;
    const core::CivilDate today = core::civil_from_days(now / kDayMs);
    const core::CivilDate next_month = today.month == 12
                                           ? core::CivilDate{today.year + 1, 1, 1}
                                           : core::CivilDate{today.year, today.month + 1, 1};
    targets.push_back(core::days_from_civil(next_month) * kDayMs);
    for (std::int64_t edge_ms : {19 * 3'600'000, 23 * 3'600'000}) {
        std::int64_t edge = now / kDayMs * kDayMs + edge_ms;
        targets.push_back(edge > now ? edge : edge + kDayMs);
    }
    targets.push_back(now + (1 + static_cast<std::int64_t>(below(45))) * kDayMs);
    std::int64_t target = targets[below(targets.size())];
    static constexpr std::int64_t kOffsets[] = {-1, 0, 1};
    const std::uint64_t offset = below(4);
    target += offset < 3 ? kOffsets[offset] : static_cast<std::int64_t>(below(3'600'000));
    if (target <= now) target = now + 1;
    clock_.set_ms(target);
    note("clock jumps +" + std::to_string(target - now) + " ms to " + format_instant(target));
}

inline void Sim::step_sweep() {
    const std::uint64_t injected = faults_.injected();
    auto swept = gw_->service().sweep_expired_holds();
    note("sweep expired holds: " +
         (swept.ok() ? std::to_string(*swept) + " swept" : "error " + swept.error().code) +
         fault_note(injected));
    if (faulted_since(injected)) return;
    if (!swept.ok()) fail("the sweep failed with no fault injected: " + swept.error().message);
    expect_.no_expired_open_holds = true;
}

inline void Sim::step_expire() {
    const std::uint64_t injected = faults_.injected();
    std::int64_t processed = 0;
    core::Status s = atomically([&]() -> core::Status {
        auto r = gw_->ledger().expire_due();
        if (!r.ok()) return r.error();
        processed = *r;
        return {};
    });
    note("expire due grants: " + (s.ok() ? std::to_string(processed) : "error " + s.error().code) +
         fault_note(injected));
    if (!s.ok() || processed >= ledger::kExpireBatchGrantsMax) return;
    // Nothing is left due at this instant: a second sweep finds nothing.
    std::int64_t again = -1;
    peek([&] { again = gw_->ledger().expire_due().value(); });
    if (again != 0) fail("expire_due() left " + std::to_string(again) + " grants due");
}

inline void Sim::step_renew() {
    const std::uint64_t injected = faults_.injected();
    int created = 0;
    core::Status s = atomically([&]() -> core::Status {
        auto r = gw_->plans().renew_all(*gw_->books().current());
        if (!r.ok()) return r.error();
        created = *r;
        return {};
    });
    note("renew plans: " +
         (s.ok() ? std::to_string(created) + " grants" : "error " + s.error().code) +
         fault_note(injected));
    if (!s.ok() && !faulted_since(injected)) fail("renewal failed: " + s.error().message);
}

inline void Sim::step_book() {
    const bool to_two = book_text_ == kBookOne;
    book_text_ = to_two ? book_two() : std::string(kBookOne);
    auto reloaded = gw_->books().reload();
    note(std::string("price book swapped to ") + (to_two ? "sim2" : "sim1"));
    if (!reloaded.ok()) fail("the price book did not reload: " + reloaded.error().message);
}

// The expiring account leaves its plan or joins it again.
inline void Sim::step_subscription() {
    const std::size_t account = model_.accounts.size() - 1;
    const std::string& plan = model_.accounts[account].subscribed_plan;
    bool active = false;
    peek([&] {
        auto subs = gw_->ledger().subscriptions(id(account));
        if (!subs.ok()) return;
        for (const ledger::Subscription& sub : *subs)
            active = active || (sub.plan == plan && !sub.cancelled_ms);
    });
    const std::uint64_t injected = faults_.injected();
    core::Status s = atomically([&]() -> core::Status {
        if (active) {
            auto r = gw_->ledger().unsubscribe(id(account), plan);
            return r.ok() ? core::Status() : core::Status(r.error());
        }
        auto r = gw_->plans().subscribe(id(account), *gw_->books().current(), plan);
        return r.ok() ? core::Status() : core::Status(r.error());
    });
    note(label(account) + (active ? " leaves " : " joins ") + plan +
         (s.ok() ? "" : ": error " + s.error().code) + fault_note(injected));
    if (!s.ok() && !faulted_since(injected))
        fail("subscription change failed: " + s.error().message);
}

}  // namespace tollgate::sim
