// Job ownership on Redis (see jobs/ownership.h). All lease keys share one
// hash tag, so a script moves a dead instance's jobs atomically:
//   P{leases}:instances      set: every instance id seen
//   P{leases}:lease:<id>     string with a TTL: the instance is alive
//   P{leases}:follows:<id>   set: the job ids the instance follows
//   Plock:<name>             string with a TTL: who holds a short lock
//                            (try_lock), "<instance>:<n>"
//   Ptenant-slots:<tenant>    sorted set: the tenant's unfinished job ids,
//                            scored by when each slot runs out (Redis time)
// A heartbeat thread renews this instance's lease every lease_ms / 3.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "jobs/ownership.h"
#include "store/redis/redis_client.h"

namespace tollgate::jobs {

inline constexpr std::int64_t kLeaseMsDefault = 10'000;
inline constexpr std::int64_t kLeaseMsMin = 1'000;
inline constexpr std::int64_t kLeaseMsMax = 600'000;

class RedisOwnership final : public JobOwnership {
  public:
    // Takes the lease (error when the store cannot be reached) and starts
    // renewing it. `instance_id`: stable across restarts of one instance.
    static core::Result<std::unique_ptr<RedisOwnership>> start(store::redis::Client& client,
                                                               std::string prefix,
                                                               std::string instance_id,
                                                               std::int64_t lease_ms);
    // Stops renewing; the lease runs out lease_ms later unless the instance
    // starts again.
    ~RedisOwnership() override;

    // Stops renewing the lease, which then runs out lease_ms later, as when
    // the process dies; the destructor does the same.
    void stop_renewing();

    core::Status own(const std::string& job_id) override;
    void release(const std::string& job_id) override;
    core::Result<std::vector<std::string>> take_orphans(std::size_t limit) override;
    core::Result<std::string> try_lock(const std::string& name, std::int64_t ttl_ms) override;
    void unlock(const std::string& name, const std::string& token) override;
    core::Result<bool> take_tenant_slot(const std::string& tenant, const std::string& job_id,
                                        int limit, std::int64_t ttl_ms) override;
    void release_tenant_slot(const std::string& tenant, const std::string& job_id) override;

  private:
    RedisOwnership(store::redis::Client& client, std::string prefix, std::string instance_id,
                   std::int64_t lease_ms);
    std::string key(const std::string& name) const { return prefix_ + "{leases}:" + name; }
    std::string tenant_key(const std::string& tenant) const {
        return prefix_ + "tenant-slots:" + tenant;
    }
    core::Status renew();
    void heartbeat();

    store::redis::Client& client_;
    const std::string prefix_;
    const std::string me_;
    const std::int64_t lease_ms_;
    std::atomic<bool> took_own_{false};
    std::atomic<std::uint64_t> locks_taken_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace tollgate::jobs
