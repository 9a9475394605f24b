// The durability floor under bench_ledger: no ledger at all, only its fsyncs.
//
// Each step (the reserve, then the capture) appends one 64-byte record to a
// log file in --data-dir and returns once an fdatasync that began after the
// append has finished. Group commit is the leader kind, with no thread of its
// own: a step that finds no flush running writes and syncs everything
// appended so far, for every waiting step at once; the others wait for it.
// Nothing is checked and nothing is read back. This is what any design that
// makes each step durable before it answers pays on this disk with this many
// clients, so a backend's ops/s divided by this run's shows how far it is
// from the disk's limit.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "bench/ledger/workload.h"

namespace tollgate::bench {
namespace {

constexpr std::size_t kRecordBytes = 64;

class Log {
  public:
    explicit Log(int fd) : fd_(fd) {}
    ~Log() { ::close(fd_); }
    Log(const Log&) = delete;
    Log& operator=(const Log&) = delete;

    // Appends one record and returns once it is durable.
    core::Status append_durably(const std::string& account_id, const std::string& key, char kind) {
        std::unique_lock lock(mutex_);
        char record[kRecordBytes] = {};
        record[0] = kind;
        std::memcpy(record + 1, account_id.data(), std::min<std::size_t>(account_id.size(), 23));
        std::memcpy(record + 24, key.data(), std::min<std::size_t>(key.size(), 39));
        pending_.append(record, kRecordBytes);
        const std::uint64_t mine = ++appended_;
        while (synced_ < mine) {
            if (!error_.empty()) return core::make_error("io_error", error_);
            if (flushing_) {
                cv_.wait(lock);
                continue;
            }
            flushing_ = true;
            std::string out;
            out.swap(pending_);
            const std::uint64_t upto = appended_;
            lock.unlock();
            std::string failure;
            if (::write(fd_, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
                failure = std::string("write: ") + std::strerror(errno);
            } else if (::fdatasync(fd_) != 0) {
                failure = std::string("fdatasync: ") + std::strerror(errno);
            }
            lock.lock();
            flushing_ = false;
            if (failure.empty()) {
                synced_ = upto;
                ++flushes_;
            } else {
                error_ = failure;
            }
            cv_.notify_all();
        }
        return {};
    }

    std::uint64_t flushes() const {
        std::lock_guard lock(mutex_);
        return flushes_;
    }

  private:
    const int fd_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::string pending_;
    std::uint64_t appended_ = 0;
    std::uint64_t synced_ = 0;
    std::uint64_t flushes_ = 0;
    bool flushing_ = false;
    std::string error_;
};

class FloorClient final : public LedgerClient {
  public:
    explicit FloorClient(Log& log) : log_(log) {}
    core::Status reserve_capture(const std::string& account_id, const std::string& key) override {
        core::Status held = log_.append_durably(account_id, key, 'h');
        if (!held.ok()) return held;
        return log_.append_durably(account_id, key, 'c');
    }

  private:
    Log& log_;
};

class FloorBackend final : public Backend {
  public:
    FloorBackend(int fd, std::vector<std::string> accounts)
        : log_(fd), accounts_(std::move(accounts)) {}
    const std::vector<std::string>& accounts() const override { return accounts_; }
    core::Result<std::unique_ptr<LedgerClient>> connect() override {
        return std::unique_ptr<LedgerClient>(std::make_unique<FloorClient>(log_));
    }
    std::string stats() const override { return " flushes=" + std::to_string(log_.flushes()); }

  private:
    Log log_;
    std::vector<std::string> accounts_;
};

}  // namespace

core::Result<std::unique_ptr<Backend>> open_floor(const Options& options) {
    if (options.data_dir.empty())
        return core::make_error("invalid_options", "--backend floor needs --data-dir");
    std::filesystem::path path = std::filesystem::path(options.data_dir) / "floor.log";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return core::make_error("io_error", "cannot open " + path.string());
    std::vector<std::string> accounts;
    for (std::int64_t i = 0; i < options.accounts; ++i)
        accounts.push_back("acct_floor_" + std::to_string(i));
    return std::unique_ptr<Backend>(std::make_unique<FloorBackend>(fd, std::move(accounts)));
}

}  // namespace tollgate::bench
