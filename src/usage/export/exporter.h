// Ships the outbox's usage records to the configured external sinks.
//
// One thread per sink loops: gather up to batch_max records after the sink's
// cursors, ship() them in one call, then advance the cursor of each partition
// the batch drew from to the last record taken from it. A batch visits the
// partitions in turn, starting after the one that filled the previous batch,
// so a busy partition cannot starve the others. A failure (the sink is down,
// refuses, or times out) leaves the cursors where they were: the records stay
// in the outbox, durable, and are tried again after a backoff that doubles
// from backoff_initial_ms up to backoff_max_ms. When the outbox is empty the
// thread sleeps for interval_ms or until wake(). Since ship() is idempotent by
// job id, the crash window between a sink's acknowledgement and the cursors'
// commit only causes a replay. An outbox of many partitions costs a cursor
// read and a page read per partition per batch, even when idle.
//
// Before the first batch of any sink, the exporter reads the cursor of every
// sink in every partition. An outbox that trims what all its known sinks have
// acknowledged (Redis) learns of a sink from its first cursor read, so every
// configured sink is known before any of them advances, a sink that is down
// from the start included.
//
// Threads: start(), wake(), stats() and the destructor from any thread.
// export_pending() runs on the caller's thread and must not be used for a
// sink whose thread is running.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "usage/export/outbox.h"
#include "usage/export/remote_sink.h"

namespace tollgate::usage {

struct ExporterOptions {
    std::size_t batch_max = 1'000;          // records per ship(), 1 .. kOutboxPageMax
    std::int64_t interval_ms = 1'000;       // idle wait for new records
    std::int64_t backoff_initial_ms = 100;  // after the first failure in a row
    std::int64_t backoff_max_ms = 30'000;
};

struct ExportStats {
    std::string sink;
    std::int64_t shipped = 0;      // records acknowledged since start
    std::int64_t failures = 0;     // failed attempts since start
    std::int64_t failing_for = 0;  // failed attempts in a row now; 0 when healthy
    std::string last_error;        // of the latest failure, "" before any
};

class Exporter {
  public:
    // Called with the sink's name and a description of each failure.
    using OnError = std::function<void(const std::string& sink, const core::Error& error)>;

    Exporter(UsageOutbox& outbox, std::vector<std::unique_ptr<RemoteSink>> sinks,
             ExporterOptions options, OnError on_error = {});
    // Stops and joins the threads; a ship() in progress finishes first.
    ~Exporter();
    Exporter(const Exporter&) = delete;
    Exporter& operator=(const Exporter&) = delete;

    void start();
    // New records committed: end the idle waits now.
    void wake();
    std::vector<ExportStats> stats();
    std::size_t sink_count() const { return sinks_.size(); }

    // Ships every waiting record to sink `index` on this thread, batch after
    // batch; stops at the first failure and returns it. Returns how many
    // records were acknowledged.
    core::Result<std::int64_t> export_pending(std::size_t index);

  private:
    struct Slot;
    // One batch to the slot's sink: how many records were acknowledged (0:
    // nothing waits), or the failure.
    core::Result<std::int64_t> ship_batch(Slot& slot);
    // Reads every sink's cursor of every partition, once (see above).
    core::Status register_sinks();
    void run(Slot& slot);
    // Sleeps up to `ms`, or less when stopping or, given the wake count seen
    // before, once wake() was called since; false when stopping.
    bool pause(std::int64_t ms, std::optional<std::uint64_t> wakes_seen);

    UsageOutbox& outbox_;
    const ExporterOptions options_;
    const OnError on_error_;
    std::vector<std::unique_ptr<RemoteSink>> sinks_;
    std::vector<std::unique_ptr<Slot>> slots_;

    std::mutex register_mutex_;  // guards registered_; held while registering
    bool registered_ = false;

    std::mutex mutex_;  // guards the fields below and every Slot's stats
    std::condition_variable cv_;
    bool stopping_ = false;
    std::uint64_t wakes_ = 0;
    std::vector<std::thread> threads_;
};

}  // namespace tollgate::usage
