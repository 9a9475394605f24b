// The seam of bench_ledger: one durable reserve+capture, as each backend does it.
//
// A Backend is opened once per run: it prepares its tables or keys and funds
// the accounts the workload spreads over. Each client thread then connects
// its own LedgerClient and calls reserve_capture() in a loop. Key invariant:
// when reserve_capture() returns ok, both the hold of one token and its
// capture are durable (fsynced) in the backend, each as its own atomic step,
// exactly as the gateway does them (a job runs between the two).
//
// Threads: a Backend is opened and closed on the main thread; connect() may be
// called from any thread; a LedgerClient is used by the thread that made it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace tollgate::bench {

// The command line; see main() in bench_ledger.cc for each flag's meaning.
struct Options {
    std::string backend = "sqlite";
    int clients = 16;
    int seconds = 10;
    int warmup_seconds = 1;
    std::int64_t accounts = 1000;
    bool accounts_given = false;  // --accounts was on the command line
    std::string redis = "127.0.0.1:6379";
    std::string pg = "host=127.0.0.1 dbname=postgres";
    std::string data_dir;
    std::int64_t preload_accounts = 0;
    std::int64_t preload_entries = 0;
    bool verify = false;
};

// Tokens granted to each account the workload uses: far more than a run can
// spend at one token per operation.
inline constexpr std::int64_t kAccountTokens = 1'000'000'000;

class LedgerClient {
  public:
    virtual ~LedgerClient() = default;
    // Holds one token of `account_id` under the fresh `key`, then captures
    // it. An error means the operation failed or was refused (the accounts
    // are funded, so a refusal is a failure too).
    virtual core::Status reserve_capture(const std::string& account_id, const std::string& key) = 0;
};

class Backend {
  public:
    virtual ~Backend() = default;
    // The accounts the workload draws from, uniformly.
    virtual const std::vector<std::string>& accounts() const = 0;
    virtual core::Result<std::unique_ptr<LedgerClient>> connect() = 0;
    // Extra " key=value" pairs for the RESULT line (e.g. commit batching).
    virtual std::string stats() const { return {}; }
};

core::Result<std::unique_ptr<Backend>> open_sqlite(const Options& options);
core::Result<std::unique_ptr<Backend>> open_redis(const Options& options);
core::Result<std::unique_ptr<Backend>> open_postgres(const Options& options);
// The durability floor: no ledger, only one durable append per step.
core::Result<std::unique_ptr<Backend>> open_floor(const Options& options);

}  // namespace tollgate::bench
