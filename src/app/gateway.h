// The running gateway: every part wired together from a Config.
//
// This is the only place that names concrete backends (SQLite ledger, job
// store and usage sink today). Start order: storage, recovery of jobs left
// unfinished by a previous process, dispatcher, then the HTTP server. Stop
// order is the reverse, so no request arrives at a stopped part. A sweeper
// thread renews plan grants and expires grants every sweep_interval_ms.
#pragma once

#include <cstdint>
#include <memory>

#include "app/config.h"
#include "core/clock.h"
#include "core/result.h"
#include "http/api/metrics.h"

namespace tollgate::app {

class Gateway {
  public:
    static core::Result<std::unique_ptr<Gateway>> start(Config config);
    ~Gateway();
    std::uint16_t port() const;
    // Reads the price book file again; an invalid book is refused (and
    // logged) and the one in force stays.
    core::Status reload_pricing();
    void stop();

  private:
    struct Parts;
    explicit Gateway(std::unique_ptr<Parts> parts);
    static void start_warm_up(Parts& p, const core::Clock& clock);
    static core::Status open_embedded_store(Parts& p, const core::Clock& clock);
    static core::Status open_shared_store(Parts& p, const core::Clock& clock);
    // What /metrics reads at each scrape: jobs in flight, workers, sinks, open holds.
    static http::LiveGauges live_gauges(Parts& p);
    std::unique_ptr<Parts> parts_;
};

}  // namespace tollgate::app
