// A remote sink kept in memory that can be told to fail, as a sink that is
// down. It keeps rows by job id, as the real sinks do, and remembers every
// batch it was shipped, for tests of what the exporter sends and in what order.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "usage/export/remote_sink.h"

namespace tollgate::usage {

class MemorySink final : public RemoteSink {
  public:
    explicit MemorySink(std::string name) : name_(std::move(name)) {}
    const std::string& name() const override { return name_; }
    core::Status prepare() override {
        std::lock_guard lock(mutex_);
        ++prepares_;
        if (down_) return core::make_error("sink_unavailable", "down");
        return {};
    }
    core::Status ship(const std::vector<UsageRecord>& records) override {
        std::lock_guard lock(mutex_);
        if (down_) return core::make_error("sink_unavailable", "down");
        batches_.push_back(records.size());
        std::vector<std::string> jobs;
        for (const UsageRecord& r : records) {
            ++deliveries_;
            ++deliveries_of_[r.job_id];
            rows_[r.job_id] = r;  // keyed by job id, as the real sinks are
            jobs.push_back(r.job_id);
        }
        batch_jobs_.push_back(std::move(jobs));
        return {};
    }
    core::Result<std::vector<DayTotal>> day_totals(std::int64_t, std::int64_t) override {
        return std::vector<DayTotal>{};
    }
    void set_down(bool down) {
        std::lock_guard lock(mutex_);
        down_ = down;
    }
    std::size_t rows() {
        std::lock_guard lock(mutex_);
        return rows_.size();
    }
    std::map<std::string, UsageRecord> row_map() {
        std::lock_guard lock(mutex_);
        return rows_;
    }
    std::size_t deliveries() {
        std::lock_guard lock(mutex_);
        return deliveries_;
    }
    // How many times each job's record was shipped.
    std::map<std::string, int> deliveries_of() {
        std::lock_guard lock(mutex_);
        return deliveries_of_;
    }
    std::vector<std::size_t> batches() {
        std::lock_guard lock(mutex_);
        return batches_;
    }
    // The job ids of each batch, in the order shipped.
    std::vector<std::vector<std::string>> batch_jobs() {
        std::lock_guard lock(mutex_);
        return batch_jobs_;
    }
    int prepares() {
        std::lock_guard lock(mutex_);
        return prepares_;
    }

  private:
    std::string name_;
    std::mutex mutex_;
    bool down_ = false;
    std::map<std::string, UsageRecord> rows_;
    std::size_t deliveries_ = 0;
    std::map<std::string, int> deliveries_of_;
    std::vector<std::size_t> batches_;
    std::vector<std::vector<std::string>> batch_jobs_;
    int prepares_ = 0;
};

}  // namespace tollgate::usage
