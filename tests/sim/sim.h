// The deterministic simulation of the ledger and the job state machine: one
// seed drives a gateway (sim_gateway.h) through a random workload of 30 to 60
// steps with injected faults, and after every step the auditor
// (sim_auditor.h) checks the invariants of DESIGN.md.
//
// Approach: everything random comes from one std::mt19937_64 seeded with the
// seed, drawn on one thread in a fixed order; time is a ManualClock; no step
// waits on another thread except for the dispatcher parking (see
// sim_gateway.h). The simulation plays the client, the operator and the
// worker: it submits jobs, delivers their outcomes (once, twice, late or
// never), moves the clock, runs the sweepers, adds and removes money, and
// kills the process. The ids the code under test draws from the operating
// system never steer a choice: the simulation advances the clock by 1 ms
// before placing any hold, so every ordering the code makes among holds and
// jobs (by expiry, then creation time) is decided by the seed, not by ids.
//
// Steps (sim_steps.h and sim_money.h): submit (with or without an
// Idempotency-Key, sometimes replaying one, sometimes reusing it for another
// request), deliver an outcome (success, execution failure, rejection,
// worker unreachable, timeout, protocol error), deliver a duplicate, advance
// the clock a little, jump it to or across a grant expiry, a month boundary,
// a hold TTL or a price window edge, expire due grants, renew plans, sweep
// expired holds, top up, add an expiring grant, adjust, refund a capture,
// hold and settle tokens directly on the ledger (partial captures), swap the
// price book, leave or rejoin a plan, and crash.
//
// Faults: between any two steps the process may die (a crash step); inside
// any storage transaction run through http::Atomically, by the gateway or by
// the simulation, sim_faults.h may refuse it, fail it after its work, or
// kill the process inside it or right after its commit. A crash drops the
// whole gateway and reopens it from the file, then runs
// recover_unfinished() (which may crash in turn) until it succeeds.
//
// Rejected: using the dispatcher's threads to settle jobs (their timing would
// decide the order of settlements, and a failing seed would not replay), and
// a model that predicts every balance (it would re-implement the ledger; the
// auditor checks the books against each other and against the model's
// knowledge of quotes, keys and outcomes instead).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/time_zone.h"
#include "http_api/fixture.h"
#include "image/probe.h"
#include "sim/sim_auditor.h"
#include "sim/sim_faults.h"
#include "sim/sim_gateway.h"
#include "sim/sim_model.h"

namespace tollgate::sim {

// The books the simulation swaps between: the gateway tests' book (UTC, so
// the month boundaries are where the clock jumps aim), and another version
// with other prices and other plan tokens. Credit limits stay, since the
// model's credit limit per account is fixed.
inline const std::string kBookOne = http::testing_support::kTestBook;

inline std::string book_two() {
    std::string text = kBookOne;
    auto swap = [&text](const std::string& from, const std::string& to) {
        text.replace(text.find(from), from.size(), to);
    };
    swap("version = \"t1\"", "version = \"t2\"");
    swap("base = 10", "base = 13");
    swap("per_megapixel = 2.0", "per_megapixel = 3.5");
    swap("multiplier = 1.5", "multiplier = 2.0");
    swap("tokens = 100\nprice = \"9.99\"", "tokens = 150\nprice = \"9.99\"");
    swap("tokens = 100\nprice = \"19.99\"", "tokens = 80\nprice = \"19.99\"");
    return text;
}

// The requests a client may send: an image size and an upscale factor.
struct Request {
    int width;
    int height;
    const char* upscale;  // "" = 1
};
inline constexpr Request kRequests[] = {
    {64, 64, ""},  {640, 480, ""},  {1024, 1024, ""},  {1920, 1080, ""},  {2048, 2048, ""},
    {64, 64, "2"}, {640, 480, "2"}, {1024, 1024, "2"}, {1920, 1080, "2"},
};
inline constexpr std::size_t kRequestKinds = sizeof(kRequests) / sizeof(kRequests[0]);

inline std::string request_text(std::size_t kind) {
    const Request& r = kRequests[kind];
    return std::to_string(r.width) + "x" + std::to_string(r.height) +
           (r.upscale[0] != '\0' ? " x" + std::string(r.upscale) : "");
}

// The PNG of each request kind, encoded once per process.
inline const std::string& request_png(std::size_t kind) {
    static const std::vector<std::string> pngs = [] {
        image::init();
        std::vector<std::string> out;
        for (const Request& r : kRequests) {
            out.push_back(image::encode_blank(image::Format::Png, r.width, r.height));
        }
        return out;
    }();
    return pngs.at(kind);
}

// "2026-12-01 00:00:00.000" in UTC.
inline std::string format_instant(std::int64_t ms) {
    const std::int64_t days = ms / 86'400'000;
    const std::int64_t in_day = ms % 86'400'000;
    char buf[64];
    std::snprintf(
        buf, sizeof buf, "%s %02lld:%02lld:%02lld.%03lld",
        core::format_civil_date(core::civil_from_days(days)).c_str(),
        static_cast<long long>(in_day / 3'600'000), static_cast<long long>(in_day / 60'000 % 60),
        static_cast<long long>(in_day / 1000 % 60), static_cast<long long>(in_day % 1000));
    return buf;
}

struct SimResult {
    bool passed = true;
    int steps = 0;
    std::string report;        // on failure: seed, step, what failed, the last steps
    std::uint64_t digest = 0;  // of the whole trace, equal for two runs of one seed
};

class Sim {
  public:
    // `dir` must exist; the simulation owns what it holds while it runs.
    Sim(std::uint64_t seed, std::filesystem::path dir, bool verbose)
        : seed_(seed), dir_(std::move(dir)), rng_(seed), faults_(rng_), trace_(verbose) {}

    SimResult run();

  private:
    // What a submit in progress was, in case the process dies inside it.
    struct PendingSubmit {
        std::size_t account;
        std::string key;
        std::string request;
    };
    // Driver (this file).
    void set_up();
    bool create_empty_database(const std::filesystem::path& path);
    void add_accounts();
    void open_gateway();
    void restart();
    void one_step();
    void step_crash();
    void on_crash(const InjectedCrash& crash);
    void audit();
    void adopt_unknown_jobs();

    // Steps (sim_steps.h).
    void step_submit();
    std::string choose_key(std::size_t account, std::size_t* request);
    void on_submitted(std::size_t account, const std::string& key, std::size_t request,
                      const http::SubmitResult& r, std::string line);
    void on_accepted(std::size_t account, const std::string& key, std::size_t request,
                     const http::SubmitResult& r, std::string line);
    void on_replayed(std::size_t account, const std::string& key, std::size_t request,
                     const http::SubmitResult& r, std::string line);
    void submit_without_answer(std::size_t account, const std::string& key,
                               const std::string& request);
    void step_deliver(bool duplicate);
    void step_deliver_once() { step_deliver(/*duplicate=*/false); }
    void step_deliver_again() { step_deliver(/*duplicate=*/true); }
    dispatch::JobOutcome random_outcome(const SimJob& job);
    void step_advance();
    void step_jump();
    void step_sweep();
    void step_expire();
    void step_renew();
    void step_book();
    void step_subscription();

    // Money moved by the operator (sim_money.h).
    void step_top_up();
    void step_adjust();
    void step_refund();
    void step_direct_reserve();
    void step_direct_settle();
    void check_refusal(std::size_t account, std::int64_t tokens, const std::string& what);

    std::uint64_t below(std::uint64_t n) { return rng_() % n; }
    bool chance(std::uint64_t permille) { return below(1000) < permille; }
    const std::string& id(std::size_t account) const { return model_.accounts[account].id; }
    const std::string& label(std::size_t account) const { return model_.accounts[account].label; }
    void note(const std::string& line) {
        trace_.add("step " + std::to_string(step_) + ": " + line);
    }
    void fail(const std::string& what) {
        if (failures_.empty()) note("FAILED: " + what);
        failures_.push_back(what);
    }
    bool faulted_since(std::uint64_t injected) const { return faults_.injected() != injected; }
    std::string fault_note(std::uint64_t injected) const {
        return faulted_since(injected) ? " [fault: " + faults_.last() + "]" : "";
    }
    // Runs fn in one transaction under the gateway's fault injection.
    template <typename Fn>
    core::Status atomically(Fn&& fn) {
        return gw_->atomically()([&]() -> core::Status { return fn(); });
    }
    // Runs fn in a transaction that is rolled back: reads without side effects.
    template <typename Fn>
    void peek(Fn&& fn) {
        (void)store::transact(gw_->db(), [&]() -> core::Status {
            fn();
            return core::make_error("peek", "rolled back");
        });
    }
    core::Tokens available(std::size_t account) {
        core::Tokens out;
        peek([&] {
            auto balance = gw_->ledger().balance(id(account));
            if (balance.ok()) out = balance->available();
        });
        return out;
    }

    const std::uint64_t seed_;
    const std::filesystem::path dir_;
    std::mt19937_64 rng_;
    FaultInjector faults_;
    Trace trace_;
    core::ManualClock clock_{0};
    std::string book_text_ = kBookOne;
    int job_timeout_ms_ = 600'000;
    int account_jobs_max_ = 0;  // the cap of the current life
    std::unique_ptr<Gateway> gw_;
    Model model_;
    Observed observed_;
    Expectations expect_;
    std::optional<PendingSubmit> pending_;
    std::map<std::pair<std::size_t, std::string>, std::int64_t> grant_keys_;   // -> tokens
    std::map<std::pair<std::size_t, std::string>, std::int64_t> adjust_keys_;  // -> tokens
    // The connection's count of rows written, right after the last audit.
    std::optional<std::int64_t> audited_changes_;
    int next_name_ = 0;
    int step_ = 0;
    const char* doing_ = "the set-up";  // the kind of the step in progress
    std::vector<std::string> failures_;
};

inline SimResult Sim::run() {
    SimResult result;
    set_up();
    const int steps = 30 + static_cast<int>(below(31));
    static constexpr std::uint64_t kRatesPermille[] = {0, 20, 50, 120};
    faults_.set_rate_permille(kRatesPermille[below(4)]);
    for (step_ = 1; step_ <= steps && failures_.empty(); ++step_) {
        std::snprintf(g_abort_note, sizeof g_abort_note,
                      "seed %llu, step %d (replay: TOLLGATE_SIM_SEED=%llu)",
                      static_cast<unsigned long long>(seed_), step_,
                      static_cast<unsigned long long>(seed_));
        expect_ = {};
        try {
            one_step();
        } catch (const InjectedCrash& crash) {
            on_crash(crash);
        }
        if (failures_.empty()) audit();
    }
    gw_.reset();
    result.steps = step_ - 1;
    result.digest = trace_.digest();
    if (!failures_.empty()) {
        result.passed = false;
        result.report = "seed " + std::to_string(seed_) + " failed at step " +
                        std::to_string(result.steps) + ":\n";
        for (const std::string& f : failures_) result.report += "  - " + f + "\n";
        result.report += "  last steps:\n" + trace_.last_lines();
        result.report += "  replay: TOLLGATE_SIM_SEED=" + std::to_string(seed_) +
                         " sim_tests --gtest_filter='Seeds/SimTest.Seeds/0'\n";
    }
    return result;
}

inline void Sim::set_up() {
    std::error_code ec;
    std::filesystem::remove_all(dir_ / "data", ec);
    for (const char* file : {"sim.db", "sim.db-wal", "sim.db-shm"}) {
        std::filesystem::remove(dir_ / file, ec);
    }
    // Every seed starts from a copy of a database whose tables were created
    // once per directory: creating them is most of the cost of a fresh file.
    const std::filesystem::path empty = dir_ / "empty.db";
    if (!std::filesystem::exists(empty) && !create_empty_database(empty)) return;
    std::filesystem::copy_file(empty, dir_ / "sim.db", ec);
    if (ec) return fail("cannot copy the empty database: " + ec.message());
    // Start within two weeks before a month boundary (2026-12-01 UTC).
    const std::int64_t start = core::days_from_civil({2026, 11, 18}) * 86'400'000;
    clock_.set_ms(start + static_cast<std::int64_t>(below(14 * 86'400'000ull)));
    job_timeout_ms_ = chance(500) ? 60'000 : 600'000;
    faults_.set_paused(true);
    open_gateway();
    if (!gw_) return;
    add_accounts();
    faults_.set_paused(false);
    note("start at " + format_instant(clock_.now_ms()) + ", job timeout " +
         std::to_string(job_timeout_ms_) + " ms");
    if (failures_.empty()) audit();
}

inline bool Sim::create_empty_database(const std::filesystem::path& path) {
    auto db = store::Database::open(path.string());
    bool created = db.ok() && ledger::SqliteLedger::open(**db, clock_).ok() &&
                   jobs::SqliteJobStore::open(**db).ok() && usage::SqliteUsageSink::open(**db).ok();
    if (!created) fail("cannot create the empty database " + path.string());
    return created;
}

inline void Sim::add_accounts() {
    auto& ledger = gw_->ledger();
    auto book = gw_->books().current();
    auto must = [this](const auto& result, const char* what) {
        if (!result.ok()) fail(std::string("setting up: ") + what + ": " + result.error().message);
    };
    auto add = [&](const char* label, std::int64_t credit) -> std::string {
        auto account = ledger.create_account(label);
        must(account, "create_account");
        model_.accounts.push_back(SimAccount{account.ok() ? *account : "", label, credit, ""});
        return model_.accounts.back().id;
    };
    auto tokens = [this](std::uint64_t base, std::uint64_t spread) {
        return core::Tokens(static_cast<std::int64_t>(base + below(spread)));
    };
    const std::string prepaid = add("prepaid", 0);
    must(gw_->plans().subscribe(prepaid, *book, "rolling"), "subscribe");
    if (chance(600)) must(ledger.grant(prepaid, tokens(5, 40), "opening top-up"), "grant");
    const std::string postpaid = add("postpaid", 30);
    must(ledger.set_tenant(postpaid, "acme"), "set_tenant");
    if (chance(500)) must(ledger.grant(postpaid, tokens(1, 20), "opening top-up"), "grant");
    const std::string unlimited = add("unlimited", ledger::kUnlimitedCreditTokens);
    must(gw_->plans().subscribe(unlimited, *book, chance(500) ? "vip" : "vipslow"), "subscribe");
    const std::string expiring = add("expiring", 0);
    model_.accounts.back().subscribed_plan = "monthly";
    if (chance(500)) must(ledger.set_tenant(expiring, "half"), "set_tenant");
    ledger::GrantSpec spec;
    spec.account_id = expiring;
    spec.tokens = tokens(20, 60);
    spec.reason = "trial";
    spec.expires_ms = clock_.now_ms() + 3'600'000 + static_cast<std::int64_t>(below(864'000'000));
    spec.priority = static_cast<std::int64_t>(below(3));
    must(ledger.add_grant(spec), "add_grant");
    if (chance(500)) must(gw_->plans().subscribe(expiring, *book, "monthly"), "subscribe");
}

inline void Sim::open_gateway() {
    GatewayOptions options;
    options.db_path = (dir_ / "sim.db").string();
    options.data_dir = (dir_ / "data").string();
    options.book_text = &book_text_;
    // Now and then a small dispatch queue, so that admissions meet a busy gateway.
    options.queue_capacity = chance(250) ? 1 + below(3) : 1000;
    // Now and then a cap on each account's unfinished jobs.
    account_jobs_max_ = chance(250) ? 1 + static_cast<int>(below(3)) : 0;
    options.account_jobs_max = account_jobs_max_;
    options.job_timeout_ms = job_timeout_ms_;
    // A quarter of the lives commit through the store's committer thread,
    // each operation under its own savepoint, as the server does; the rest
    // commit on the simulation's thread, which is cheaper and the same to
    // the code above the store.
    options.group_commit = chance(250);
    auto gw = Gateway::open(options, clock_, faults_);
    if (!gw.ok()) {
        // Opening is not faulted: a failure here is a failure of the code under test.
        fail("cannot open the gateway: " + gw.error().code + ": " + gw.error().message);
        return;
    }
    gw_ = std::move(gw).value();
    audited_changes_.reset();
}

// The process died: drop everything, reopen from the file and recover, as
// many times as recovery itself dies. After a few attempts the faults pause,
// so a seed with a high fault rate still gets a gateway back.
inline void Sim::restart() {
    gw_.reset();
    for (SimJob& job : model_.jobs) job.in_flight = false;  // the dispatcher died too
    for (int attempt = 1;; ++attempt) {
        if (attempt == 4) faults_.set_paused(true);
        open_gateway();
        if (!gw_) return;
        const std::uint64_t injected = faults_.injected();
        try {
            auto recovered = gw_->service().recover_unfinished();
            if (recovered.ok()) {
                note("restarted; recovered " + std::to_string(*recovered) + " unfinished jobs");
                break;
            }
            note("recovery failed: " + recovered.error().code + fault_note(injected));
            if (!faulted_since(injected)) {
                fail("recovery failed with no fault injected: " + recovered.error().message);
                break;
            }
        } catch (const InjectedCrash& crash) {
            note("the process died again during recovery, " + crash.where);
        }
        gw_.reset();
    }
    faults_.set_paused(false);
    expect_.no_unfinished_jobs = true;
}

inline void Sim::on_crash(const InjectedCrash& crash) {
    note("the process died " + crash.where + " during " + doing_ + " (injected)");
    if (pending_) {
        submit_without_answer(pending_->account, pending_->key, pending_->request);
        pending_.reset();
    }
    restart();
}

inline void Sim::one_step() {
    // Weights out of 100. A step with nothing to act on falls back to a small
    // clock advance, which keeps the sequence of draws a function of the seed.
    struct Kind {
        int weight;
        const char* name;
        void (Sim::*run)();
    };
    static constexpr Kind kKinds[] = {
        {26, "a submit", &Sim::step_submit},
        {20, "a delivery", &Sim::step_deliver_once},
        {6, "a duplicate delivery", &Sim::step_deliver_again},
        {9, "a clock advance", &Sim::step_advance},
        {6, "a clock jump", &Sim::step_jump},
        {4, "a sweep of expired holds", &Sim::step_sweep},
        {3, "an expiry of due grants", &Sim::step_expire},
        {3, "a renewal of plans", &Sim::step_renew},
        {4, "a grant", &Sim::step_top_up},
        {3, "an adjustment", &Sim::step_adjust},
        {3, "a refund", &Sim::step_refund},
        {3, "a direct hold", &Sim::step_direct_reserve},
        {3, "a direct settlement", &Sim::step_direct_settle},
        {1, "a price book swap", &Sim::step_book},
        {1, "a subscription change", &Sim::step_subscription},
        {5, "a crash between steps", &Sim::step_crash},
    };
    int roll = static_cast<int>(below(100));
    for (const Kind& kind : kKinds) {
        if (roll >= kind.weight) {
            roll -= kind.weight;
            continue;
        }
        doing_ = kind.name;
        return (this->*kind.run)();
    }
}

inline void Sim::step_crash() {
    note("crash between steps");
    restart();
}

// Skipped when the step wrote no row (the connection's change counter did
// not move, and reads roll back their lazy expiries but count too), touched
// no result file and expects nothing of its own: the state the last audit
// passed is then still the state. Only the clock moved, and what a read would
// expire lazily at the new instant is audited with the next write, which
// commits that expiry. This spares the audits of most clock steps.
inline void Sim::audit() {
    if (!gw_) return;
    if (!expect_.any() && audited_changes_ == sqlite3_total_changes64(gw_->db().handle())) return;
    Auditor auditor(*gw_, model_, clock_.now_ms(), expect_);
    for (const std::string& failure : auditor.run(&observed_)) fail(failure);
    adopt_unknown_jobs();
    // The job row the dispatcher was handed, for the deliveries to come.
    for (SimJob& job : model_.jobs) {
        auto row = observed_.jobs.find(job.id);
        if (job.in_flight && !job.dispatched && row != observed_.jobs.end())
            job.dispatched = row->second;
    }
    audited_changes_ = sqlite3_total_changes64(gw_->db().handle());
}

// Jobs admitted by submits whose answer never came: each such submit may
// account for one, and a key that such a submit used learns its job.
inline void Sim::adopt_unknown_jobs() {
    for (const std::string& job_id : observed_.unknown_jobs) {
        auto job = observed_.jobs.find(job_id);
        if (job == observed_.jobs.end()) continue;  // reported by the auditor
        std::size_t account = 0;
        while (account < model_.accounts.size() && id(account) != job->second.account_id) ++account;
        if (account == model_.accounts.size()) continue;
        SimJob adopted;
        adopted.id = job_id;
        adopted.account = account;
        const std::size_t index = model_.add_job(adopted);
        ++model_.adopted_jobs;
        note("found job#" + std::to_string(index) + " of " + label(account) + ", " +
             std::string(jobs::to_string(job->second.state)) +
             ", admitted by a submit that never answered");
        if (model_.adopted_jobs > model_.ambiguous_submits) {
            fail(std::to_string(model_.adopted_jobs) +
                 " jobs appeared without an answer, but only " +
                 std::to_string(model_.ambiguous_submits) + " submits ended without one");
        }
    }
    for (auto& [account_key, use] : model_.keys) {
        if (use.state != KeyUse::State::Unknown) continue;
        auto record = observed_.recorded_jobs.find(account_key);
        if (record == observed_.recorded_jobs.end()) continue;
        use.state = KeyUse::State::Admitted;
        use.job_id = record->second;
    }
}

}  // namespace tollgate::sim
