#include "app/sim_traffic_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/limits.h"
#include "http/client/http_client.h"
#include "http/codec/url.h"
#include "image/synthetic.h"

namespace tollgate::app {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kGatewayUrlBytesMax = 2048;
constexpr std::size_t kAnswerBytesMax = 1 << 20;
constexpr std::size_t kWaitedJobsMax = 1'000'000;  // jobs remembered for --wait
constexpr int kWaitPollMs = 200;
constexpr int kSleepSliceMs = 100;  // how soon a stop request is seen
constexpr const char* kBadUploadBody = "this upload is a text file, not a photo\n";

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

class Gateway {
  public:
    Gateway(http::HttpUrl base, int timeout_ms)
        : base_(std::move(base)),
          timeout_ms_(timeout_ms),
          client_(http::make_http_client(http::Reach::Anywhere)) {}

    core::Result<http::HttpAnswer> post(const std::string& target, const std::string& bearer,
                                        std::string body, const std::string& content_type) {
        http::HttpPost request = make(target, bearer);
        request.body = std::move(body);
        request.content_type = content_type;
        return client_->post(request);
    }
    core::Result<http::HttpAnswer> get(const std::string& target, const std::string& bearer) {
        return client_->get(make(target, bearer));
    }
    std::string describe() const { return "http://" + base_.host_header(); }

  private:
    http::HttpPost make(const std::string& target, const std::string& bearer) const {
        http::HttpPost request;
        request.url = base_;
        request.url.target = target;
        request.headers = {{"Authorization", "Bearer " + bearer}};
        request.timeout_ms = timeout_ms_;
        request.answer_bytes_max = kAnswerBytesMax;
        return request;
    }

    http::HttpUrl base_;
    int timeout_ms_;
    std::unique_ptr<http::HttpClient> client_;
};

// The JSON answer of an admin call that must succeed with `status`.
core::Result<nlohmann::json> admin_call(Gateway& gateway, const std::string& token,
                                        const std::string& target, const nlohmann::json& body,
                                        int status) {
    auto answer = gateway.post(target, token, body.dump(), "application/json");
    if (!answer.ok()) return answer.error();
    nlohmann::json parsed = nlohmann::json::parse(answer->body, nullptr, false);
    if (answer->status != status || !parsed.is_object()) {
        return core::make_error("admin_refused", "POST " + target + " answered " +
                                                     std::to_string(answer->status) + ": " +
                                                     answer->body.substr(0, 300));
    }
    return parsed;
}

struct SimAccount {
    std::string id;
    std::string api_key;
};

core::Result<std::vector<SimAccount>> make_accounts(Gateway& gateway,
                                                    const SimTrafficOptions& options) {
    std::vector<SimAccount> accounts;
    for (std::int64_t i = 0; i < options.shape.accounts; ++i) {
        auto made = admin_call(gateway, options.admin_token, "/admin/accounts",
                               {{"name", "sim-" + std::to_string(i + 1)}}, 201);
        if (!made.ok()) return made.error();
        SimAccount account;
        account.id = made->value("account_id", "");
        if (account.id.empty()) return core::make_error("admin_refused", "no account_id");
        auto granted =
            admin_call(gateway, options.admin_token, "/admin/accounts/" + account.id + "/grants",
                       {{"tokens", options.grant_tokens}, {"reason", "sim-traffic"}}, 201);
        if (!granted.ok()) return granted.error();
        auto key =
            admin_call(gateway, options.admin_token, "/admin/accounts/" + account.id + "/keys",
                       nlohmann::json::object(), 201);
        if (!key.ok()) return key.error();
        account.api_key = key->value("api_key", "");
        if (account.api_key.empty()) return core::make_error("admin_refused", "no api_key");
        accounts.push_back(std::move(account));
    }
    return accounts;
}

struct Tally {
    std::int64_t sent = 0;
    std::int64_t accepted = 0;
    std::int64_t exact_duplicates = 0;            // answered with dedupe kind "exact"
    std::int64_t near_duplicates = 0;             // answered with dedupe kind "near"
    std::int64_t errors = 0;                      // no answer at all
    std::map<std::string, std::int64_t> refused;  // by error code
    std::map<std::string, std::int64_t> ended;    // --wait: by final state

    std::int64_t refused_total() const {
        std::int64_t n = 0;
        for (const auto& [code, count] : refused) n += count;
        return n;
    }
};

std::string tally_line(const Tally& t) {
    std::string line = std::to_string(t.sent) + " sent: " + std::to_string(t.accepted) +
                       " accepted (" + std::to_string(t.exact_duplicates) + " exact and " +
                       std::to_string(t.near_duplicates) + " near duplicates), " +
                       std::to_string(t.refused_total()) + " refused";
    if (!t.refused.empty()) {
        line += " (";
        bool first = true;
        for (const auto& [code, count] : t.refused) {
            line += (first ? "" : ", ") + code + " " + std::to_string(count);
            first = false;
        }
        line += ")";
    }
    return line + ", " + std::to_string(t.errors) + " unanswered";
}

struct AcceptedJob {
    std::string job_id;
    std::size_t account = 0;
};

// Sends one planned job and counts its answer.
void send_job(Gateway& gateway, const TrafficShape& shape, const std::vector<SimAccount>& accounts,
              const SimJob& job, Tally& tally, std::vector<AcceptedJob>& accepted) {
    const MixEntry& entry = shape.mix[job.mix_index];
    std::string target = "/v1/jobs?workflow=" + entry.workflow;
    if (!entry.query.empty()) target += "&" + entry.query;
    ++tally.sent;
    std::string body = kBadUploadBody;
    if (job.kind != SimJobKind::BadUpload) {
        auto photo =
            image::encode_synthetic_photo(job.image_seed, job.width, job.height, job.jpeg_quality);
        if (!photo.ok()) {
            std::fprintf(stderr, "sim-traffic: %s\n", photo.error().message.c_str());
            ++tally.errors;
            return;
        }
        body = std::move(photo).value();
    }
    const auto account = static_cast<std::size_t>(job.account);
    auto answer =
        gateway.post(target, accounts[account].api_key, std::move(body),
                     job.kind == SimJobKind::BadUpload ? "text/plain" : "application/octet-stream");
    if (!answer.ok()) {
        ++tally.errors;
        return;
    }
    nlohmann::json parsed = nlohmann::json::parse(answer->body, nullptr, false);
    if (answer->status != 202 || !parsed.is_object()) {
        std::string code = "status_" + std::to_string(answer->status);
        if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
            code = parsed["error"].value("code", code);
        }
        ++tally.refused[code];
        return;
    }
    ++tally.accepted;
    if (parsed.contains("dedupe") && parsed["dedupe"].is_object()) {
        const std::string kind = parsed["dedupe"].value("kind", "");
        if (kind == "exact") ++tally.exact_duplicates;
        if (kind == "near") ++tally.near_duplicates;
    }
    if (accepted.size() < kWaitedJobsMax) {
        accepted.push_back({parsed.value("job_id", ""), account});
    }
}

bool is_final(const std::string& state) {
    return state == "succeeded" || state == "failed" || state == "cancelled";
}

// Polls each accepted job until it ends or `deadline`; returns how many did not.
std::int64_t wait_for_jobs(Gateway& gateway, const std::vector<SimAccount>& accounts,
                           const std::vector<AcceptedJob>& jobs, Clock::time_point deadline,
                           const std::atomic<bool>& stop, Tally& tally) {
    std::int64_t unfinished = 0;
    for (const AcceptedJob& job : jobs) {
        std::string state;
        while (!stop.load()) {
            auto answer = gateway.get("/v1/jobs/" + job.job_id, accounts[job.account].api_key);
            if (answer.ok() && answer->status == 200) {
                nlohmann::json parsed = nlohmann::json::parse(answer->body, nullptr, false);
                if (parsed.is_object()) state = parsed.value("state", "");
            }
            if (is_final(state) || Clock::now() >= deadline) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(kWaitPollMs));
        }
        if (is_final(state)) {
            ++tally.ended[state];
        } else {
            ++unfinished;
        }
    }
    return unfinished;
}

}  // namespace

int run_sim_traffic(const SimTrafficOptions& options, const std::atomic<bool>& stop) {
    auto fail = [](const std::string& message) {
        std::fprintf(stderr, "tollgate sim-traffic: %s\n", message.c_str());
        return 2;
    };
    if (core::Status s = check_shape(options.shape); !s.ok()) return fail(s.error().message);
    auto base = http::parse_http_url(options.gateway, kGatewayUrlBytesMax);
    if (!base.ok()) return fail("--gateway: " + base.error().message);
    if (options.admin_token.empty()) return fail("--admin-token is needed to make its accounts");
    if (options.jobs < 0 || options.duration_s < 0 || options.wait_timeout_s < 0 ||
        options.progress_interval_s <= 0) {
        return fail("--jobs, --duration-s and --wait-timeout-s are >= 0, --progress-s > 0");
    }
    if (options.grant_tokens < 1 || options.grant_tokens > core::limits::kGrantTokensMax) {
        return fail("--grant-tokens is 1 to 1e12");
    }
    Gateway gateway(*base, options.request_timeout_ms);
    auto accounts = make_accounts(gateway, options);
    if (!accounts.ok()) {
        return fail("cannot make the accounts at " + gateway.describe() + ": " +
                    accounts.error().message);
    }
    std::printf(
        "sim-traffic: %zu accounts (sim-1 to sim-%zu) sending to %s; peak %.1f jobs/min, "
        "a simulated day every %.0f s\n",
        accounts->size(), accounts->size(), gateway.describe().c_str(),
        options.shape.peak_jobs_per_minute, options.shape.day_seconds);
    std::string ids;
    for (const SimAccount& a : *accounts) ids += " " + a.id;
    std::printf("sim-traffic: accounts:%s\n", ids.c_str());
    std::fflush(stdout);

    TrafficPlan plan(options.shape);
    Tally tally;
    std::vector<AcceptedJob> accepted;
    const Clock::time_point start = Clock::now();
    double next_progress_s = options.progress_interval_s;
    while (!stop.load()) {
        if (options.jobs > 0 && tally.sent >= options.jobs) break;
        const SimJob job = plan.next();
        if (options.duration_s > 0 && job.at_s > options.duration_s) break;
        // Sleep until the job's time in slices, so a stop request is seen.
        while (!stop.load() && seconds_since(start) < job.at_s) {
            const double left_s = job.at_s - seconds_since(start);
            std::this_thread::sleep_for(std::chrono::milliseconds(
                std::clamp(static_cast<int>(left_s * 1000), 1, kSleepSliceMs)));
        }
        if (stop.load()) break;
        send_job(gateway, plan.shape(), *accounts, job, tally, accepted);
        if (seconds_since(start) >= next_progress_s) {
            next_progress_s += options.progress_interval_s;
            std::printf("sim-traffic: simulated %05.2f h, %.1f jobs/min: %s\n",
                        plan.simulated_hour(job.at_s), plan.rate_per_minute(job.at_s),
                        tally_line(tally).c_str());
            std::fflush(stdout);
        }
    }
    std::printf("sim-traffic: done after %.0f s: %s\n", seconds_since(start),
                tally_line(tally).c_str());
    int rc = tally.sent > 0 && tally.errors == tally.sent ? 1 : 0;
    if (options.wait) {
        const auto deadline =
            Clock::now() +
            std::chrono::milliseconds(static_cast<std::int64_t>(options.wait_timeout_s * 1000));
        const std::int64_t unfinished =
            wait_for_jobs(gateway, *accounts, accepted, deadline, stop, tally);
        std::string ended;
        for (const auto& [state, count] : tally.ended) {
            ended += (ended.empty() ? "" : ", ") + std::to_string(count) + " " + state;
        }
        std::printf("sim-traffic: jobs ended: %s; %lld unfinished\n",
                    ended.empty() ? "none" : ended.c_str(), static_cast<long long>(unfinished));
        if (unfinished > 0) rc = 1;
    }
    std::fflush(stdout);
    return rc;
}

}  // namespace tollgate::app
