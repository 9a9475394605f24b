#include "usage/export/exporter.h"

#include <algorithm>
#include <chrono>

#include "core/assert.h"

namespace tollgate::usage {

struct Exporter::Slot {
    RemoteSink* sink = nullptr;
    bool prepared = false;   // prepare() succeeded since the last failure
    int next_partition = 0;  // where the next batch starts gathering records
    ExportStats stats;       // guarded by Exporter::mutex_
};

Exporter::Exporter(UsageOutbox& outbox, std::vector<std::unique_ptr<RemoteSink>> sinks,
                   ExporterOptions options, OnError on_error)
    : outbox_(outbox), options_(options), on_error_(std::move(on_error)), sinks_(std::move(sinks)) {
    TOLLGATE_ASSERT(options_.batch_max >= 1 && options_.batch_max <= kOutboxPageMax);
    TOLLGATE_ASSERT(options_.interval_ms >= 1);
    TOLLGATE_ASSERT(options_.backoff_initial_ms >= 1 &&
                    options_.backoff_initial_ms <= options_.backoff_max_ms);
    for (const auto& sink : sinks_) {
        TOLLGATE_ASSERT(sink != nullptr);
        auto slot = std::make_unique<Slot>();
        slot->sink = sink.get();
        slot->stats.sink = sink->name();
        slots_.push_back(std::move(slot));
    }
}

Exporter::~Exporter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
}

void Exporter::start() {
    TOLLGATE_ASSERT(threads_.empty());
    for (auto& slot : slots_) threads_.emplace_back([this, s = slot.get()] { run(*s); });
}

void Exporter::wake() {
    {
        std::lock_guard lock(mutex_);
        ++wakes_;
    }
    cv_.notify_all();
}

std::vector<ExportStats> Exporter::stats() {
    std::lock_guard lock(mutex_);
    std::vector<ExportStats> out;
    for (const auto& slot : slots_) out.push_back(slot->stats);
    return out;
}

core::Status Exporter::register_sinks() {
    std::lock_guard lock(register_mutex_);
    if (registered_) return {};
    for (const auto& slot : slots_) {
        for (int p = 0; p < outbox_.partitions(); ++p) {
            auto cursor = outbox_.cursor(slot->sink->name(), p);
            if (!cursor.ok()) return cursor.error();
        }
    }
    registered_ = true;
    return {};
}

core::Result<std::int64_t> Exporter::ship_batch(Slot& slot) {
    const std::string& name = slot.sink->name();
    if (auto s = register_sinks(); !s.ok()) return s.error();
    if (!slot.prepared) {
        if (auto s = slot.sink->prepare(); !s.ok()) return s.error();
        slot.prepared = true;
    }
    // Gather up to batch_max records, partition after partition, starting
    // where the previous batch stopped.
    struct Touched {
        int partition = 0;
        std::int64_t cursor = 0;
        std::int64_t last = 0;  // the last seq of the partition in this batch
    };
    std::vector<Touched> touched;
    std::vector<UsageRecord> records;
    const int partitions = outbox_.partitions();
    TOLLGATE_ASSERT(partitions >= 1 && partitions <= kOutboxPartitionsMax);
    int p = slot.next_partition % partitions;
    for (int visited = 0; visited < partitions && records.size() < options_.batch_max;
         ++visited, p = (p + 1) % partitions) {
        auto cursor = outbox_.cursor(name, p);
        if (!cursor.ok()) return cursor.error();
        auto rows = outbox_.after(p, *cursor, options_.batch_max - records.size());
        if (!rows.ok()) return rows.error();
        if (rows->empty()) continue;
        TOLLGATE_ASSERT(rows->size() <= options_.batch_max - records.size());
        for (OutboxRow& row : *rows) records.push_back(std::move(row.record));
        touched.push_back(Touched{p, *cursor, rows->back().seq});
    }
    if (records.empty()) return std::int64_t{0};
    if (auto s = slot.sink->ship(records); !s.ok()) {
        slot.prepared = false;  // reconnect (and re-check the table) next time
        return s.error();
    }
    // The next batch starts after the partition that filled this one, so a
    // busy partition cannot starve the others.
    slot.next_partition = p;
    for (const Touched& t : touched) {
        TOLLGATE_ASSERT(t.last > t.cursor);
        if (auto s = outbox_.advance(name, t.partition, t.last); !s.ok()) return s.error();
    }
    return static_cast<std::int64_t>(records.size());
}

core::Result<std::int64_t> Exporter::export_pending(std::size_t index) {
    TOLLGATE_ASSERT(index < slots_.size());
    TOLLGATE_ASSERT(threads_.empty());
    Slot& slot = *slots_[index];
    std::int64_t total = 0;
    for (;;) {
        auto shipped = ship_batch(slot);
        std::lock_guard lock(mutex_);
        if (!shipped.ok()) {
            ++slot.stats.failures;
            ++slot.stats.failing_for;
            slot.stats.last_error = shipped.error().code + ": " + shipped.error().message;
            return shipped.error();
        }
        slot.stats.failing_for = 0;
        slot.stats.shipped += *shipped;
        if (*shipped == 0) return total;
        total += *shipped;
    }
}

bool Exporter::pause(std::int64_t ms, std::optional<std::uint64_t> wakes_seen) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms),
                 [&] { return stopping_ || (wakes_seen.has_value() && wakes_ != *wakes_seen); });
    return !stopping_;
}

void Exporter::run(Slot& slot) {
    std::int64_t backoff_ms = options_.backoff_initial_ms;
    for (;;) {
        std::uint64_t wakes_seen = 0;  // a wake() from now on ends the idle wait
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            wakes_seen = wakes_;
        }
        auto shipped = ship_batch(slot);
        if (!shipped.ok()) {
            {
                std::lock_guard lock(mutex_);
                ++slot.stats.failures;
                ++slot.stats.failing_for;
                slot.stats.last_error = shipped.error().code + ": " + shipped.error().message;
            }
            if (on_error_) on_error_(slot.sink->name(), shipped.error());
            if (!pause(backoff_ms, std::nullopt)) return;
            backoff_ms = std::min(backoff_ms * 2, options_.backoff_max_ms);
            continue;
        }
        backoff_ms = options_.backoff_initial_ms;
        {
            std::lock_guard lock(mutex_);
            slot.stats.failing_for = 0;
            slot.stats.shipped += *shipped;
        }
        // A full batch: more may wait, go on at once.
        if (static_cast<std::size_t>(*shipped) == options_.batch_max) continue;
        if (!pause(options_.interval_ms, wakes_seen)) return;
    }
}

}  // namespace tollgate::usage
