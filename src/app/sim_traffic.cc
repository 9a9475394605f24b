#include "app/sim_traffic.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>

#include "core/assert.h"

namespace tollgate::app {
namespace {

struct SizeWeight {
    int width;
    int height;
    double weight;
};

// Landscape sizes; a third of the jobs turn them portrait. Phone photos and
// scans of prints, most of them a few megapixels.
constexpr SizeWeight kSizes[] = {
    {640, 480, 3},   {800, 600, 4},   {1024, 768, 4},  {1280, 960, 3},
    {1600, 1200, 3}, {2048, 1536, 2}, {2592, 1944, 1}, {3264, 2448, 1},
};
constexpr double kPortraitShare = 1.0 / 3.0;
constexpr int kJpegQualityFresh = 88;
constexpr int kJpegQualityNear = 55;  // the same picture, saved again smaller

double megapixels(int width, int height) { return width * static_cast<double>(height) / 1e6; }

bool is_valid_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool is_valid_query(const std::string& query) {
    if (query.size() > 256) return false;
    return std::all_of(query.begin(), query.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.' || c == '=' || c == '&';
    });
}

bool in_range(double value, double low, double high) {
    return std::isfinite(value) && value >= low && value <= high;
}

// A bump of width `sigma_h` hours around `centre_h`, on the 24-hour circle.
double bump(double hour, double centre_h, double sigma_h) {
    double d = std::fabs(hour - centre_h);
    d = std::min(d, 24.0 - d);
    return std::exp(-d * d / (2 * sigma_h * sigma_h));
}

}  // namespace

core::Result<MixEntry> parse_mix_entry(const std::string& text) {
    MixEntry entry;
    std::string rest = text;
    if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
        const std::string weight = rest.substr(colon + 1);
        const auto [end, ec] =
            std::from_chars(weight.data(), weight.data() + weight.size(), entry.weight);
        if (ec != std::errc() || end != weight.data() + weight.size() ||
            !in_range(entry.weight, 1e-6, 1e6)) {
            return core::make_error("invalid_mix", "mix entry '" + text +
                                                       "': the weight after ':' is a number "
                                                       "above 0, at most 1e6");
        }
        rest.resize(colon);
    }
    if (const auto q = rest.find('?'); q != std::string::npos) {
        entry.query = rest.substr(q + 1);
        rest.resize(q);
    }
    entry.workflow = rest;
    if (!is_valid_name(entry.workflow) || !is_valid_query(entry.query)) {
        return core::make_error("invalid_mix",
                                "mix entry '" + text +
                                    "' is not NAME[?QUERY][:WEIGHT] (NAME: a-z 0-9 _ -, "
                                    "QUERY: name=value pairs joined by &)");
    }
    return entry;
}

std::vector<MixEntry> default_mix() {
    return {{"person", "", 45},   {"person", "quality=high", 5},
            {"building", "", 25}, {"super_resolution", "upscale_factor=2", 10},
            {"denoise", "", 8},   {"scratch_removal", "", 5},
            {"ocr", "", 2}};
}

core::Status check_shape(const TrafficShape& s) {
    auto bad = [](const std::string& what) {
        return core::make_error("invalid_traffic_shape", what);
    };
    if (!in_range(s.peak_jobs_per_minute, 0.01, kSimJobsPerMinuteMax))
        return bad("the peak rate is 0.01 to 6000 jobs per minute");
    if (!in_range(s.day_seconds, 1, 86'400 * 7.0))
        return bad("a simulated day lasts 1 s to 7 days");
    if (!in_range(s.start_hour, 0, 24)) return bad("the start hour is 0 to 24");
    if (!in_range(s.night_share, 0.01, 1)) return bad("the night's share of the peak is 0.01 to 1");
    const double shares[] = {s.duplicate_share, s.near_duplicate_share, s.bad_upload_share};
    for (double share : shares) {
        if (!in_range(share, 0, 1)) return bad("each share of duplicates or bad uploads is 0 to 1");
    }
    if (s.duplicate_share + s.near_duplicate_share + s.bad_upload_share > 0.9)
        return bad("duplicates and bad uploads are at most 90% of the jobs together");
    if (!in_range(s.megapixels_min, 0, 1000) || !in_range(s.megapixels_max, s.megapixels_min, 1000))
        return bad("the megapixel range is 0 <= min <= max");
    const bool any_size = std::any_of(std::begin(kSizes), std::end(kSizes), [&](const auto& z) {
        return in_range(megapixels(z.width, z.height), s.megapixels_min, s.megapixels_max);
    });
    if (!any_size) return bad("no image size (0.3 to 8 MP) lies in the megapixel range");
    if (s.accounts < 1 || s.accounts > kSimAccountsMax) return bad("accounts is 1 to 1000");
    if (s.mix.empty() || s.mix.size() > kSimMixEntriesMax)
        return bad("the mix has 1 to 64 entries");
    for (const MixEntry& e : s.mix) {
        if (!in_range(e.weight, 1e-6, 1e6)) return bad("each mix weight is above 0, at most 1e6");
    }
    return {};
}

double daily_curve(double hour, double night_share) {
    const double shape = std::max(bump(hour, 11.0, 2.5), 0.8 * bump(hour, 20.0, 2.0));
    return night_share + (1.0 - night_share) * shape;
}

const char* to_string(SimJobKind kind) {
    switch (kind) {
        case SimJobKind::Fresh:
            return "fresh";
        case SimJobKind::Duplicate:
            return "duplicate";
        case SimJobKind::NearDuplicate:
            return "near_duplicate";
        case SimJobKind::BadUpload:
            return "bad_upload";
    }
    return "?";
}

TrafficPlan::TrafficPlan(TrafficShape shape) : shape_(std::move(shape)), rng_(shape_.seed) {
    TOLLGATE_ASSERT(check_shape(shape_).ok());
    std::vector<double> mix_weights;
    for (const MixEntry& e : shape_.mix) mix_weights.push_back(e.weight);
    mix_pick_ = std::discrete_distribution<std::size_t>(mix_weights.begin(), mix_weights.end());
    // A few accounts send most of the work: account i weighs 1 / (i + 1).
    std::vector<double> account_weights;
    for (std::int64_t i = 0; i < shape_.accounts; ++i) account_weights.push_back(1.0 / (i + 1));
    account_pick_ =
        std::discrete_distribution<std::int64_t>(account_weights.begin(), account_weights.end());
    std::vector<double> size_weights;
    for (const SizeWeight& z : kSizes) {
        if (!in_range(megapixels(z.width, z.height), shape_.megapixels_min, shape_.megapixels_max))
            continue;
        sizes_.emplace_back(z.width, z.height);
        size_weights.push_back(z.weight);
    }
    TOLLGATE_ASSERT(!sizes_.empty());
    size_pick_ = std::discrete_distribution<std::size_t>(size_weights.begin(), size_weights.end());
    next_seed_ = rng_();
}

double TrafficPlan::simulated_hour(double at_s) const {
    const double hour = shape_.start_hour + 24.0 * at_s / shape_.day_seconds;
    return std::fmod(hour, 24.0);
}

double TrafficPlan::rate_per_minute(double at_s) const {
    return shape_.peak_jobs_per_minute * daily_curve(simulated_hour(at_s), shape_.night_share);
}

// Thinning: candidates at the peak rate, each kept with the curve's share.
// The curve is at least night_share >= 0.01, so a kept one comes within a few
// hundred candidates.
double TrafficPlan::next_arrival_s() {
    const double peak_per_s = shape_.peak_jobs_per_minute / 60.0;
    std::exponential_distribution<double> gap(peak_per_s);
    for (;;) {
        clock_s_ += gap(rng_);
        if (uniform() < daily_curve(simulated_hour(clock_s_), shape_.night_share)) return clock_s_;
    }
}

SimJob TrafficPlan::fresh_job(double at_s) {
    SimJob job;
    job.at_s = at_s;
    job.kind = SimJobKind::Fresh;
    job.mix_index = mix_pick_(rng_);
    job.account = account_pick_(rng_);
    job.image_seed = next_seed_++;
    auto [w, h] = sizes_[size_pick_(rng_)];
    if (shape_.mix[job.mix_index].query.find("upscale_factor") != std::string::npos) {
        // People upscale small photos: the largest size in range up to 1 MP,
        // or the smallest in range when none is that small.
        auto [sw, sh] = sizes_.front();
        for (const auto& [cw, ch] : sizes_) {
            if (megapixels(cw, ch) <= kSimUpscaleMegapixelsMax) std::tie(sw, sh) = std::tie(cw, ch);
        }
        std::tie(w, h) = std::tie(sw, sh);
    }
    if (uniform() < kPortraitShare) std::swap(w, h);
    job.width = w;
    job.height = h;
    job.jpeg_quality = kJpegQualityFresh;
    return job;
}

SimJob TrafficPlan::next() {
    const double at_s = next_arrival_s();
    const double draw = uniform();
    const double dup = shape_.duplicate_share;
    const double near = dup + shape_.near_duplicate_share;
    const double bad = near + shape_.bad_upload_share;
    if (draw < near && !remembered_.empty()) {
        std::uniform_int_distribution<std::size_t> pick(0, remembered_.size() - 1);
        SimJob job = remembered_[pick(rng_)];
        job.at_s = at_s;
        if (draw < dup) {
            job.kind = SimJobKind::Duplicate;
        } else {
            job.kind = SimJobKind::NearDuplicate;
            job.jpeg_quality = kJpegQualityNear;
        }
        return job;
    }
    SimJob job = fresh_job(at_s);
    if (draw >= near && draw < bad) {
        job.kind = SimJobKind::BadUpload;
        return job;
    }
    remembered_.push_back(job);
    if (remembered_.size() > kSimRememberedJobsMax) remembered_.pop_front();
    return job;
}

}  // namespace tollgate::app
