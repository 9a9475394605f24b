// `tollgate sim-traffic`: the traffic a photo-restoration service sees, as a
// seeded plan of job arrivals (this file, plain logic) that
// sim_traffic_command.h sends to a gateway.
//
// - Arrivals are a Poisson process whose rate follows a daily curve: quiet at
//   night, a late-morning peak and a smaller evening one. A simulated day
//   lasts `day_seconds` of real time, so a demo shows the curve in minutes.
// - Sizes are a mix of scans and phone photos from 0.3 to 8 MP, a share of
//   them portrait; upscaling jobs get inputs of at most 1 MP.
// - Each job is one of the mix's workflows (with options such as
//   "upscale_factor=2"), from one of `accounts` accounts, a few of which send
//   most of the work.
// - A share of jobs resend an earlier job's exact image (an exact duplicate),
//   or the same picture re-encoded (a near duplicate), or a body that is no
//   image at all (refused). Failures come from the workers (comfysim's
//   --fail-rate).
//
// The same shape and seed give the same plan, job for job.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "core/result.h"

namespace tollgate::app {

inline constexpr std::int64_t kSimAccountsMax = 1000;
inline constexpr double kSimJobsPerMinuteMax = 6000;
inline constexpr std::size_t kSimMixEntriesMax = 64;
inline constexpr std::size_t kSimRememberedJobsMax = 64;  // what duplicates are drawn from
inline constexpr double kSimUpscaleMegapixelsMax = 1.0;

struct MixEntry {
    std::string workflow;
    std::string query;  // extra query parameters, e.g. "upscale_factor=2" ("" for none)
    double weight = 1;
};

// "NAME[?QUERY][:WEIGHT]", e.g. "person", "building:25",
// "super_resolution?upscale_factor=2:10". Errors: "invalid_mix".
core::Result<MixEntry> parse_mix_entry(const std::string& text);

// What the demo sends when no --mix is given: mostly DDColor portraits.
std::vector<MixEntry> default_mix();

struct TrafficShape {
    double peak_jobs_per_minute = 20;
    double day_seconds = 1440;  // one simulated day of real time (24 minutes)
    double start_hour = 9;      // the simulated hour when the run starts, 0 to 24
    double night_share = 0.1;   // the quietest hour's rate, as a share of the peak
    double duplicate_share = 0.06;
    double near_duplicate_share = 0.04;
    double bad_upload_share = 0.02;
    double megapixels_min = 0;  // images are drawn from the sizes between these
    double megapixels_max = 8;
    std::int64_t accounts = 6;
    std::vector<MixEntry> mix = default_mix();
    std::uint64_t seed = 1;
};

// Errors: "invalid_traffic_shape", naming the field.
core::Status check_shape(const TrafficShape& shape);

// The rate at simulated `hour` (0 to 24) as a share of the peak: night_share
// at night, 1 at the late-morning peak (11:00), 0.8 in the evening (20:00).
double daily_curve(double hour, double night_share);

enum class SimJobKind { Fresh, Duplicate, NearDuplicate, BadUpload };
const char* to_string(SimJobKind kind);

struct SimJob {
    double at_s = 0;  // seconds after the start of the run
    SimJobKind kind = SimJobKind::Fresh;
    std::size_t mix_index = 0;  // into shape.mix
    std::int64_t account = 0;   // 0 to accounts - 1
    std::uint64_t image_seed = 0;
    int width = 0;
    int height = 0;
    int jpeg_quality = 85;
};

class TrafficPlan {
  public:
    // The shape must pass check_shape().
    explicit TrafficPlan(TrafficShape shape);

    // The next arrival; at_s never decreases.
    SimJob next();
    // The simulated hour (0 to 24) `at_s` seconds into the run.
    double simulated_hour(double at_s) const;
    // Jobs per minute at `at_s`.
    double rate_per_minute(double at_s) const;
    const TrafficShape& shape() const { return shape_; }

  private:
    double next_arrival_s();
    SimJob fresh_job(double at_s);
    double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

    TrafficShape shape_;
    std::mt19937_64 rng_;
    std::discrete_distribution<std::size_t> mix_pick_;
    std::discrete_distribution<std::int64_t> account_pick_;
    std::vector<std::pair<int, int>> sizes_;  // landscape, within the shape's megapixels
    std::discrete_distribution<std::size_t> size_pick_;
    double clock_s_ = 0;
    std::uint64_t next_seed_ = 0;
    std::deque<SimJob> remembered_;  // recent fresh jobs, newest last
};

}  // namespace tollgate::app
