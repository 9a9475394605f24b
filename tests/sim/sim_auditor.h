// The auditor: after every step of the simulation, reads the whole state of
// the gateway back through its public interfaces and checks the invariants
// of DESIGN.md on it.
//
// It reads inside one transaction that it then rolls back, because reading a
// balance or the grants expires due grants lazily, and an auditor that wrote
// would change what the next step sees (a grant due but not yet expired is a
// state the code under test must handle). It knows nothing of the tables.
//
// Checked, for every account: ledger verify() finds nothing; the grants'
// books add up to the cached balance; the entries add up to it too (grants,
// expiries, captures, debits) and the last entry's balance_after is the
// available balance; available >= -(credit limit in force), >= 0 for a
// prepaid account; the open holds add up to `held`. For every hold: exactly
// one hold entry, and at most one outcome (one capture entry of what it
// captured, or one void entry of what it held), agreeing with its state;
// refunds never exceed the capture. For every job: its hold exists and holds
// its locked quote, which is the quote its client saw; the hold is open iff
// the job is unfinished, captured (all of the quote) iff it succeeded,
// voided iff it failed; a finished job has exactly one usage record, an
// unfinished one none; a succeeded job's result file exists. Every
// Idempotency-Key maps to exactly one job, and no job is admitted twice. The
// captured tokens of all accounts equal those of the succeeded jobs plus the
// directly captured holds, and the usage records reconcile with the ledger.
//
// Threads: the simulation's thread.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "jobs/job.h"
#include "ledger/ledger.h"
#include "sim/sim_gateway.h"
#include "sim/sim_model.h"
#include "usage/usage_record.h"

namespace tollgate::sim {

// One job as the auditor saw it: its state, its hold's and its usage record.
struct JobView {
    std::string state = "none";
    std::string hold = "none";
    std::int64_t captured = 0;
    bool usage_record = false;
    bool operator==(const JobView&) const = default;
    std::string text() const {
        return state + ", hold " + hold + " (" + std::to_string(captured) + " captured)" +
               (usage_record ? ", usage recorded" : "");
    }
};

// What one step expects of one job: a state, or no change at all.
struct JobExpectation {
    std::string job_id;
    std::string what;   // the step, for the failure message
    std::string state;  // the job's state afterwards, when `unchanged` is not set
    std::optional<JobView> unchanged;
};

// What holds only right after certain steps.
struct Expectations {
    bool no_unfinished_jobs = false;        // after a recovery
    bool no_expired_open_holds = false;     // after a sweep that met no fault
    std::optional<std::size_t> hold_count;  // holds ever placed, after a submit with no fault
    // The step may have changed what the database does not show (result files).
    bool files_touched = false;
    std::optional<JobExpectation> job;
    bool any() const {
        return no_unfinished_jobs || no_expired_open_holds || hold_count || files_touched || job;
    }
};

// What the auditor saw, for the simulation's next choices.
struct Observed {
    std::map<std::string, jobs::Job> jobs;      // by id
    std::map<std::string, ledger::Hold> holds;  // by key, job holds and direct ones
    std::vector<std::int64_t> instants;         // future grant expiries and hold TTLs
    std::vector<std::string> unknown_jobs;      // jobs the model did not know, in entry order
    std::map<std::pair<std::size_t, std::string>, std::string> recorded_jobs;  // key -> job id
    std::set<std::string> usage_recorded;                                      // job ids

    JobView view(const std::string& job_id) const {
        JobView v;
        if (auto job = jobs.find(job_id); job != jobs.end())
            v.state = std::string(jobs::to_string(job->second.state));
        if (auto hold = holds.find(job_id); hold != holds.end()) {
            static constexpr const char* kStates[] = {"open", "captured", "voided"};
            v.hold = kStates[static_cast<int>(hold->second.state)];
            v.captured = hold->second.captured.value;
        }
        v.usage_record = usage_recorded.count(job_id) != 0;
        return v;
    }
};

class Auditor {
  public:
    Auditor(Gateway& gw, const Model& model, std::int64_t now_ms, const Expectations& expect)
        : gw_(gw), model_(model), now_ms_(now_ms), expect_(expect) {}

    // The failures found (empty when every invariant holds).
    std::vector<std::string> run(Observed* observed) {
        bool read = false;
        core::Status s = store::transact(gw_.db(), [&]() -> core::Status {
            core::Status g = gather();
            if (!g.ok()) return g;
            read = true;
            return core::make_error("audit_rollback", "the audit writes nothing");
        });
        if (!read) {
            failures_.push_back("the audit could not read the state: " + s.error().code + ": " +
                                s.error().message);
            return failures_;
        }
        check_accounts();
        check_holds();
        check_unfinished();
        check_keys();
        check_totals();
        observed->jobs = jobs_;
        observed->holds = holds_;
        observed->instants = instants();
        observed->unknown_jobs = unknown_jobs_;
        observed->recorded_jobs.clear();
        for (const auto& [account_key, record] : records_) {
            if (record) observed->recorded_jobs.emplace(account_key, record->job_id);
        }
        observed->usage_recorded.clear();
        for (const AccountView& v : accounts_) {
            for (const usage::UsageRecord& r : v.usage) observed->usage_recorded.insert(r.job_id);
        }
        check_job_expectation(*observed);
        return failures_;
    }

  private:
    struct AccountView {
        ledger::Balance balance;
        std::vector<ledger::GrantInfo> grants;
        std::vector<ledger::Entry> entries;
        std::vector<usage::UsageRecord> usage;
    };
    // What the entries say of one hold key.
    struct KeyEntries {
        std::size_t account = 0;
        int holds = 0, captures = 0, voids = 0;
        std::int64_t captured = 0, voided = 0, refunded = 0;
    };

    template <typename T>
    static core::Status take(core::Result<T> r, T* out) {
        if (!r.ok()) return r.error();
        *out = std::move(r).value();
        return {};
    }

    core::Status gather() {
        accounts_.resize(model_.accounts.size());
        for (std::size_t i = 0; i < model_.accounts.size(); ++i) {
            const std::string& id = model_.accounts[i].id;
            AccountView& v = accounts_[i];
            if (core::Status s = take(gw_.ledger().balance(id), &v.balance); !s.ok()) return s;
            if (core::Status s = take(gw_.ledger().grants(id), &v.grants); !s.ok()) return s;
            if (core::Status s = take(gw_.ledger().entries(id), &v.entries); !s.ok()) return s;
            if (core::Status s = take(gw_.usage().for_account(id), &v.usage); !s.ok()) return s;
            for (const ledger::Entry& e : v.entries) note_entry(i, e);
        }
        std::int64_t checked = 0;
        if (core::Status s = take(gw_.ledger().verify(&checked), &mismatches_); !s.ok()) return s;
        for (const auto& [key, k] : key_entries_) {
            std::optional<ledger::Hold> hold;
            if (core::Status s = take(gw_.ledger().find_hold(key), &hold); !s.ok()) return s;
            if (hold) holds_.emplace(key, *hold);
            if (model_.direct_holds.count(key) != 0) continue;
            std::optional<jobs::Job> job;
            if (core::Status s = take(gw_.jobs().get(key), &job); !s.ok()) return s;
            if (job) jobs_.emplace(key, *job);
        }
        if (core::Status s = take(gw_.jobs().unfinished(), &unfinished_); !s.ok()) return s;
        for (const auto& [account_key, use] : model_.keys) {
            std::optional<jobs::IdempotencyRecord> record;
            auto r = gw_.jobs().find_idempotency(model_.accounts[account_key.first].id,
                                                 account_key.second);
            if (core::Status s = take(std::move(r), &record); !s.ok()) return s;
            records_.emplace(account_key, record);
        }
        return take(gw_.ledger().expired_open_holds(now_ms_, ledger::kExpiredHoldsPageMax),
                    &expired_open_);
    }

    void note_entry(std::size_t account, const ledger::Entry& e) {
        if (e.hold_key.empty()) return;
        KeyEntries& k = key_entries_[e.hold_key];
        if (e.kind == "hold") {
            k.account = account;
            ++k.holds;
            if (model_.direct_holds.count(e.hold_key) == 0 &&
                model_.job_index.count(e.hold_key) == 0) {
                unknown_jobs_.push_back(e.hold_key);
            }
        } else if (e.kind == "capture") {
            ++k.captures;
            k.captured += e.tokens.value;
        } else if (e.kind == "void") {
            ++k.voids;
            k.voided += e.tokens.value;
        } else if (e.kind == "refund") {
            k.refunded += e.tokens.value;
        }
    }

    void fail(std::string what) { failures_.push_back(std::move(what)); }

    std::string name(std::size_t account) const { return model_.accounts[account].label; }

    static std::string tokens(core::Tokens t) { return std::to_string(t.value); }

    void check_accounts() {
        for (const ledger::Mismatch& m : mismatches_) {
            fail("ledger verify(): account " + m.account_id + ": " + m.what);
        }
        for (std::size_t i = 0; i < accounts_.size(); ++i) {
            check_grants(i);
            check_entries(i);
            check_credit(i);
        }
    }

    // The grants' own books, and their sums against the cached balance.
    void check_grants(std::size_t i) {
        const ledger::Balance& b = accounts_[i].balance;
        core::Tokens granted, expired, debited, held, used, remaining;
        for (const ledger::GrantInfo& g : accounts_[i].grants) {
            if (g.remaining.value < 0 || g.held.value < 0 || g.used.value < 0 ||
                g.expired.value < 0 || g.debited.value < 0 ||
                g.tokens != g.remaining + g.held + g.used + g.expired + g.debited) {
                fail(name(i) + ": grant " + std::to_string(g.id) + " (" + g.reason +
                     ") does not balance");
            }
            granted += g.tokens;
            expired += g.expired;
            debited += g.debited;
            held += g.held;
            used += g.used;
            remaining += g.remaining;
        }
        const std::string who = name(i) + ": ";
        if (granted != b.granted)
            fail(who + "grants sum to " + tokens(granted) + ", balance says granted " +
                 tokens(b.granted));
        if (expired != b.expired)
            fail(who + "grants expired " + tokens(expired) + ", balance says " + tokens(b.expired));
        if (debited != b.debited)
            fail(who + "grants debited " + tokens(debited) + ", balance says " + tokens(b.debited));
        if (held > b.held || used > b.captured || remaining < b.available()) {
            fail(who + "grants hold " + tokens(held) + " / used " + tokens(used) + " / remain " +
                 tokens(remaining) + " beyond the balance's " + tokens(b.held) + " / " +
                 tokens(b.captured) + " / " + tokens(b.available()));
        }
        if (model_.accounts[i].prepaid() &&
            (held != b.held || used != b.captured || remaining != b.available())) {
            fail(who + "a prepaid account drew on credit: grants hold " + tokens(held) + ", used " +
                 tokens(used) + ", remain " + tokens(remaining) + "; balance " + tokens(b.held) +
                 ", " + tokens(b.captured) + ", " + tokens(b.available()));
        }
    }

    // The entries replayed against the cached balance.
    void check_entries(std::size_t i) {
        const AccountView& v = accounts_[i];
        const ledger::Balance& b = v.balance;
        core::Tokens granted, debited, expired, captured;
        for (const ledger::Entry& e : v.entries) {
            if (e.kind == "grant" || e.kind == "refund" ||
                (e.kind == "adjustment" && e.tokens.value > 0)) {
                granted += e.tokens;
            } else if (e.kind == "adjustment") {
                debited -= e.tokens;
            } else if (e.kind == "expiry") {
                expired += e.tokens;
            } else if (e.kind == "capture") {
                captured += e.tokens;
            }
        }
        const std::string who = name(i) + ": entries ";
        if (granted != b.granted)
            fail(who + "grant " + tokens(granted) + ", balance " + tokens(b.granted));
        if (debited != b.debited)
            fail(who + "debit " + tokens(debited) + ", balance " + tokens(b.debited));
        if (expired != b.expired)
            fail(who + "expire " + tokens(expired) + ", balance " + tokens(b.expired));
        if (captured != b.captured)
            fail(who + "capture " + tokens(captured) + ", balance " + tokens(b.captured));
        if (!v.entries.empty() && v.entries.back().balance_after != b.available().value) {
            fail(who + "end at balance_after " + std::to_string(v.entries.back().balance_after) +
                 ", but available is " + tokens(b.available()));
        }
        core::Tokens open;
        for (const auto& [key, hold] : holds_) {
            if (hold.account_id == model_.accounts[i].id && hold.state == ledger::HoldState::Open)
                open += hold.tokens;
        }
        if (open != b.held)
            fail(name(i) + ": open holds add up to " + tokens(open) + ", balance holds " +
                 tokens(b.held));
    }

    void check_credit(std::size_t i) {
        const SimAccount& a = model_.accounts[i];
        core::Tokens available = accounts_[i].balance.available();
        if (available.value < -a.credit_limit_tokens) {
            fail(a.label + ": available " + tokens(available) + " is below the credit limit -" +
                 std::to_string(a.credit_limit_tokens));
        }
    }

    void check_holds() {
        for (const auto& [key, k] : key_entries_) {
            const bool direct = model_.direct_holds.count(key) != 0;
            const std::string what = direct ? "direct hold " + key : model_.job_name(key);
            if (k.holds != 1) {
                fail(what + " has " + std::to_string(k.holds) + " hold entries");
                continue;
            }
            auto hold = holds_.find(key);
            if (hold == holds_.end()) {
                fail(what + " has a hold entry but no hold");
                continue;
            }
            check_outcome_entries(what, hold->second, k);
            if (direct) {
                if (jobs_.count(key) != 0) fail(what + " has a job");
                continue;
            }
            check_job(key, hold->second, k);
        }
    }

    // Exactly one outcome per hold, in its state and in the entries.
    void check_outcome_entries(const std::string& what, const ledger::Hold& h,
                               const KeyEntries& k) {
        const std::string have = " (" + std::to_string(k.captures) + " capture and " +
                                 std::to_string(k.voids) + " void entries)";
        switch (h.state) {
            case ledger::HoldState::Open:
                if (k.captures + k.voids != 0 || h.captured.value != 0)
                    fail(what + " is open but has an outcome" + have);
                break;
            case ledger::HoldState::Captured:
                if (k.captures != 1 || k.voids != 0 || k.captured != h.captured.value)
                    fail(what + " is captured (" + tokens(h.captured) + ") but" + have);
                if (h.captured.value <= 0 || h.captured > h.tokens)
                    fail(what + " captured " + tokens(h.captured) + " of " + tokens(h.tokens));
                break;
            case ledger::HoldState::Voided:
                if (k.voids != 1 || k.captures != 0 || k.voided != h.tokens.value ||
                    h.captured.value != 0)
                    fail(what + " is voided but" + have);
                break;
        }
        if (h.refunded.value != k.refunded || h.refunded > h.captured || h.refunded.value < 0) {
            fail(what + " refunded " + tokens(h.refunded) + " (entries " +
                 std::to_string(k.refunded) + ") of a capture of " + tokens(h.captured));
        }
        if (h.account_id != model_.accounts[k.account].id) {
            fail(what + " is held on another account than its hold entry");
        }
    }

    void check_job(const std::string& key, const ledger::Hold& h, const KeyEntries& k) {
        const std::string what = model_.job_name(key);
        auto it = jobs_.find(key);
        if (it == jobs_.end()) {
            fail(what + " has a hold but no job");
            return;
        }
        const jobs::Job& job = it->second;
        if (job.account_id != h.account_id)
            fail(what + " belongs to another account than its hold");
        if (job.tokens != h.tokens.value)
            fail(what + " locked " + std::to_string(job.tokens) + " tokens, its hold " +
                 tokens(h.tokens));
        if (h.captured.value > job.tokens)
            fail(what + " was charged " + tokens(h.captured) + " tokens, more than its quote " +
                 std::to_string(job.tokens));
        auto known = model_.job_index.find(key);
        if (known != model_.job_index.end()) {
            const auto& quote = model_.jobs[known->second].quote_tokens;
            if (quote && *quote != job.tokens)
                fail(what + " locked " + std::to_string(job.tokens) + " tokens, its client saw " +
                     std::to_string(*quote));
        }
        check_job_state(what, job, h);
        check_usage(what, job, k.account);
    }

    void check_job_state(const std::string& what, const jobs::Job& job, const ledger::Hold& h) {
        const std::string state(jobs::to_string(job.state));
        switch (job.state) {
            case jobs::JobState::Admitted:
            case jobs::JobState::Dispatched:
                if (h.state != ledger::HoldState::Open)
                    fail(what + " is " + state + " but its hold has ended");
                break;
            case jobs::JobState::Succeeded:
                if (h.state != ledger::HoldState::Captured || h.captured.value != job.tokens)
                    fail(what + " succeeded, its hold is not captured for the quote " +
                         std::to_string(job.tokens));
                check_result_file(what, job);
                break;
            case jobs::JobState::Failed:
                if (h.state != ledger::HoldState::Voided)
                    fail(what + " failed, its hold is not voided");
                break;
        }
    }

    void check_result_file(const std::string& what, const jobs::Job& job) {
        std::filesystem::path file = std::filesystem::path(gw_.data_dir()) / job.result_path;
        if (job.result_path.empty() || !std::filesystem::exists(file)) {
            fail(what + " succeeded but its result file " + job.result_path + " is missing");
        }
    }

    void check_usage(const std::string& what, const jobs::Job& job, std::size_t account) {
        int records = 0;
        for (const usage::UsageRecord& r : accounts_[account].usage) {
            if (r.job_id != job.id) continue;
            ++records;
            const bool succeeded = job.state == jobs::JobState::Succeeded;
            if (r.tokens != (succeeded ? job.tokens : 0) || r.quoted_tokens != job.tokens ||
                r.outcome != (succeeded ? "succeeded" : "failed")) {
                fail(what + " has a usage record of " + r.outcome + ", " +
                     std::to_string(r.tokens) + " tokens charged, " +
                     std::to_string(r.quoted_tokens) + " quoted");
            }
        }
        const int expected = jobs::is_final(job.state) ? 1 : 0;
        if (records != expected) {
            fail(what + " (" + std::string(jobs::to_string(job.state)) + ") has " +
                 std::to_string(records) + " usage records");
        }
    }

    void check_unfinished() {
        std::set<std::string> listed;
        for (const jobs::Job& job : unfinished_) listed.insert(job.id);
        for (const auto& [id, job] : jobs_) {
            if (listed.count(id) != (jobs::is_final(job.state) ? 0u : 1u))
                fail(model_.job_name(id) + " is " + std::string(jobs::to_string(job.state)) +
                     " but unfinished() disagrees");
        }
        for (const std::string& id : listed) {
            if (jobs_.count(id) == 0) fail("unfinished() lists a job that holds nothing");
        }
        if (expect_.no_unfinished_jobs && !unfinished_.empty())
            fail("a recovery left " + std::to_string(unfinished_.size()) + " jobs unfinished");
        if (expect_.hold_count && holds_.size() != *expect_.hold_count)
            fail("a submit left " + std::to_string(holds_.size()) + " holds, expected " +
                 std::to_string(*expect_.hold_count));
        if (expect_.no_expired_open_holds && !expired_open_.empty())
            fail("a sweep left " + std::to_string(expired_open_.size()) + " expired holds open");
    }

    void check_job_expectation(const Observed& observed) {
        if (!expect_.job) return;
        const JobExpectation& e = *expect_.job;
        const JobView now = observed.view(e.job_id);
        if (e.unchanged && now != *e.unchanged) {
            fail(e.what + " changed finished " + model_.job_name(e.job_id) + ": " +
                 e.unchanged->text() + " -> " + now.text());
        } else if (!e.unchanged && now.state != e.state) {
            fail(e.what + " left " + model_.job_name(e.job_id) + " " + now.text() + ", not " +
                 e.state);
        }
    }

    void check_keys() {
        std::map<std::string, std::string> key_of_job;
        for (const auto& [account_key, use] : model_.keys) {
            const std::string key =
                model_.accounts[account_key.first].label + "/" + account_key.second;
            const auto& record = records_.at(account_key);
            if (use.state == KeyUse::State::Admitted && (!record || record->job_id != use.job_id)) {
                fail("key " + key + " admitted " + model_.job_name(use.job_id) +
                     " but its record " +
                     (record ? "names " + model_.job_name(record->job_id) : "is gone"));
            }
            if (use.state == KeyUse::State::Unrecorded && record)
                fail("key " + key + " admitted nothing, yet has a record of " +
                     model_.job_name(record->job_id));
            if (!record) continue;
            if (jobs_.count(record->job_id) == 0 ||
                jobs_.at(record->job_id).account_id != model_.accounts[account_key.first].id)
                fail("key " + key + " records a job of no hold or of another account");
            auto [it, fresh] = key_of_job.emplace(record->job_id, key);
            if (!fresh) fail("keys " + it->second + " and " + key + " record the same job");
        }
    }

    void check_totals() {
        core::Tokens captured, in_usage, by_jobs, direct;
        for (const AccountView& v : accounts_) {
            captured += v.balance.captured;
            for (const usage::UsageRecord& r : v.usage) in_usage += core::Tokens(r.tokens);
        }
        for (const auto& [id, job] : jobs_) {
            if (job.state == jobs::JobState::Succeeded) by_jobs += core::Tokens(job.tokens);
        }
        for (const auto& [key, hold] : holds_) {
            if (model_.direct_holds.count(key) != 0) direct += hold.captured;
        }
        if (captured != by_jobs + direct) {
            fail("accounts captured " + tokens(captured) + ", succeeded jobs " + tokens(by_jobs) +
                 " plus direct captures " + tokens(direct));
        }
        if (in_usage != by_jobs) {
            fail("usage records charge " + tokens(in_usage) + ", succeeded jobs " +
                 tokens(by_jobs));
        }
    }

    std::vector<std::int64_t> instants() const {
        std::set<std::int64_t> out;
        for (const AccountView& v : accounts_) {
            for (const ledger::GrantInfo& g : v.grants) {
                if (g.expires_ms && *g.expires_ms > now_ms_) out.insert(*g.expires_ms);
            }
        }
        for (const auto& [key, hold] : holds_) {
            if (hold.state == ledger::HoldState::Open && hold.expires_ms &&
                *hold.expires_ms > now_ms_)
                out.insert(*hold.expires_ms);
        }
        return {out.begin(), out.end()};
    }

    Gateway& gw_;
    const Model& model_;
    const std::int64_t now_ms_;
    const Expectations expect_;
    std::vector<std::string> failures_;

    std::vector<AccountView> accounts_;
    std::vector<ledger::Mismatch> mismatches_;
    std::map<std::string, KeyEntries> key_entries_;
    std::map<std::string, ledger::Hold> holds_;
    std::map<std::string, jobs::Job> jobs_;
    std::vector<jobs::Job> unfinished_;
    std::map<std::pair<std::size_t, std::string>, std::optional<jobs::IdempotencyRecord>> records_;
    std::vector<ledger::Hold> expired_open_;
    std::vector<std::string> unknown_jobs_;
};

}  // namespace tollgate::sim
