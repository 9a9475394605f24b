// Fault injection for the simulation: for each storage transaction the
// gateway (or the simulation itself) runs through http::Atomically, a seeded
// decision to let it commit, refuse it, fail it after its work ran, or kill
// the process inside it or right after its commit.
//
// Key invariant: every decision is drawn from the simulation's one RNG, on
// the simulation's thread, in call order, so a seed replays the same faults
// at the same transactions. A gateway that is shutting down (its process is
// "dead") refuses every transaction without drawing, because the dispatcher
// may call back from its own thread while it stops.
//
// Threads: FaultInjector belongs to the simulation's thread. The Atomically
// it wraps may be called from any thread once the process is dead.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "core/result.h"
#include "http/api/job_service.h"
#include "store/sqlite.h"

namespace tollgate::sim {

// Thrown to simulate the death of the process in the middle of an operation.
// The simulation catches it around each step, drops the whole gateway without
// any cleanup beyond destructors and reopens it from the database file.
struct InjectedCrash {
    std::string where;
};

enum class Fault {
    None,
    Refuse,            // the transaction fails before its body runs
    FailAfterWork,     // the body ran, then the transaction fails and rolls back
    CrashInside,       // the process dies inside the transaction, which rolls back
    CrashAfterCommit,  // the process dies right after the commit (or rollback), before its caller
                       // goes on
};

inline const char* to_string(Fault fault) {
    switch (fault) {
        case Fault::None:
            return "none";
        case Fault::Refuse:
            return "refuse";
        case Fault::FailAfterWork:
            return "fail after work";
        case Fault::CrashInside:
            return "crash inside transaction";
        case Fault::CrashAfterCommit:
            return "crash after commit";
    }
    return "?";
}

class FaultInjector {
  public:
    explicit FaultInjector(std::mt19937_64& rng) : rng_(rng) {}

    // Out of 1000 transactions, about this many get a fault (0 = none).
    void set_rate_permille(std::uint64_t rate) { rate_permille_ = rate; }
    // Paused: every transaction commits, and no decision is drawn.
    void set_paused(bool paused) { paused_ = paused; }

    Fault next() {
        if (paused_ || rate_permille_ == 0) return Fault::None;
        if (rng_() % 1000 >= rate_permille_) return Fault::None;
        Fault fault = static_cast<Fault>(1 + rng_() % 4);
        ++injected_;
        last_ = to_string(fault);
        return fault;
    }

    // Faults injected so far; a step compares it before and after.
    std::uint64_t injected() const { return injected_; }
    const std::string& last() const { return last_; }

  private:
    std::mt19937_64& rng_;
    std::uint64_t rate_permille_ = 0;
    bool paused_ = false;
    std::uint64_t injected_ = 0;
    std::string last_;
};

// store::transact with the injector's faults. Once `dead` is set, every call
// fails with "process_dead" and runs nothing.
inline http::Atomically faulty_atomically(store::Database& db, FaultInjector& faults,
                                          const std::atomic<bool>& dead) {
    return [&db, &faults, &dead](const std::function<core::Status()>& fn) -> core::Status {
        if (dead.load()) return core::make_error("process_dead", "the process has ended");
        const Fault fault = faults.next();
        if (fault == Fault::Refuse) {
            return core::make_error("storage_error", "injected: transaction refused");
        }
        core::Status s = store::transact(db, [&]() -> core::Status {
            core::Status inner = fn();
            if (fault == Fault::CrashInside) throw InjectedCrash{"inside a transaction"};
            if (!inner.ok()) return inner;
            if (fault == Fault::FailAfterWork) {
                return core::make_error("storage_error", "injected: failed after its work");
            }
            return inner;
        });
        // After a commit, or after the rollback of a body that failed.
        if (fault == Fault::CrashAfterCommit) throw InjectedCrash{"right after a transaction"};
        return s;
    };
}

}  // namespace tollgate::sim
