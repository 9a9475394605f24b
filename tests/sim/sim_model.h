// What the simulation knows and remembers, apart from what it reads back
// from the gateway: its accounts and their credit terms, the jobs it was told
// about (with the quote each client saw), the Idempotency-Keys it used, the
// holds it placed on the ledger directly, and a trace of its last steps.
//
// Key invariant: nothing here is derived from random ids or addresses, so a
// seed's trace is the same text on every run. Jobs are named by the order in
// which the simulation learned of them ("job#3"), never by their ids.
//
// Threads: the simulation's thread only (the abort note is read by a signal
// handler, see sim_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jobs/job.h"

namespace tollgate::sim {

// The seed and step in progress, for the abort handler: a TOLLGATE_ASSERT in
// the code under test aborts the process, and the seed must still be named.
inline char g_abort_note[512] = "";

struct SimAccount {
    std::string id;
    std::string label;  // prepaid | postpaid | unlimited | expiring
    // The credit limit in force for every hold of this account (its plan and
    // tenant never change during a run): available may reach -limit.
    std::int64_t credit_limit_tokens = 0;
    std::string subscribed_plan;  // a plan it may leave and join again; "" = none
    bool prepaid() const { return credit_limit_tokens == 0; }
};

struct SimJob {
    std::string id;
    std::size_t account = 0;
    // The quote the client was told; nullopt for a job admitted by a submit
    // whose answer never arrived (it crashed or failed after the commit).
    std::optional<std::int64_t> quote_tokens;
    std::optional<jobs::Job> dispatched;  // as handed to the dispatcher
    bool in_flight = false;               // queued in this life, no outcome delivered yet
    int deliveries = 0;
};

// What an Idempotency-Key of one account is known to have admitted.
struct KeyUse {
    enum class State {
        Unrecorded,  // no job was admitted under it (none, or it was refused as busy)
        Admitted,    // it admitted job_id
        Unknown,     // a submit with it ended without an answer: it may have admitted one
    };
    State state = State::Unrecorded;
    // The request its job was admitted for (Admitted), or that the submit
    // without an answer sent (Unknown); "" when that is not known.
    std::string request;
    std::string job_id;
};

struct Model {
    std::vector<SimAccount> accounts;
    std::vector<SimJob> jobs;
    std::map<std::string, std::size_t> job_index;                // job id -> index
    std::map<std::pair<std::size_t, std::string>, KeyUse> keys;  // (account, key)
    std::map<std::string, std::size_t> direct_holds;             // key -> account
    // Submits that crashed or failed: each may have admitted a job that no
    // answer told of. Jobs found later are adopted, at most one per such submit.
    int ambiguous_submits = 0;
    int adopted_jobs = 0;

    std::string job_name(const std::string& id) const {
        auto it = job_index.find(id);
        if (it == job_index.end()) return "an unknown job";
        return "job#" + std::to_string(it->second);
    }

    std::size_t add_job(SimJob job) {
        std::size_t index = jobs.size();
        job_index.emplace(job.id, index);
        jobs.push_back(std::move(job));
        return index;
    }
};

// The last steps, for a failure report; every line as it happens when verbose.
class Trace {
  public:
    static constexpr std::size_t kLinesKept = 16;

    explicit Trace(bool verbose) : verbose_(verbose) {}

    void add(std::string line) {
        if (verbose_) std::printf("  %s\n", line.c_str());
        digest_ = digest_ * 1099511628211ull ^ std::hash<std::string>{}(line);
        lines_.push_back(std::move(line));
        if (lines_.size() > kLinesKept) lines_.pop_front();
    }

    std::string last_lines() const {
        std::string out;
        for (const std::string& line : lines_) out += "    " + line + "\n";
        return out;
    }

    // A digest of every line so far: equal for two runs of one seed.
    std::uint64_t digest() const { return digest_; }
    bool verbose() const { return verbose_; }

  private:
    bool verbose_;
    std::deque<std::string> lines_;
    std::uint64_t digest_ = 14695981039346656037ull;
};

}  // namespace tollgate::sim
