// The gateway's configuration, read from one TOML file, and the price book it
// names.
//
// Owns: parsing and validating [server], [dispatch], [pricing], [results],
// [webhooks], [dedupe], [rate_limits], [usage] and [workflows.*]. [pricing] book names the price
// book file, which pricing/ parses (and which a reload reads again). Relative paths are resolved
// against the config file's directory. Errors name the file and the key. The keys each table may
// hold are listed in config_keys.h, and any other key is refused.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/api/facade/prompt_rules.h"
#include "jobs/dedupe.h"
#include "pricing/price_book.h"
#include "usage/reports.h"

namespace tollgate::app {

struct WorkflowConfig {
    std::string name;
    std::string template_path;  // absolute after loading
    std::vector<std::string> workers;
    // Job parameter -> "<node id>.<input>" in the template (checked when the
    // template loads).
    std::vector<std::pair<std::string, std::string>> params;
    // Run the workflow once on each worker at start, so its models are warm.
    bool warmup = false;
};

struct Config {
    std::string source_path;
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    std::string data_dir = "./data";  // absolute after loading
    // Where money, jobs and usage live: "" or "sqlite" for the embedded file
    // in data_dir; "redis://host:port[,host:port...]" for Redis (a server or
    // a cluster) shared by several gateway instances, under store_prefix.
    std::string store;
    std::string store_prefix = "tg:";
    // Shared store: how long an instance that stops renewing its lease keeps
    // its jobs before another instance takes them over.
    std::int64_t store_lease_ms = 10'000;
    bool shared_store() const { return !store.empty() && store != "sqlite"; }
    std::string admin_token;
    // "text" (spdlog's lines) or "json" (one object per line, with the request id).
    std::string log_format = "text";
    // Where the dashboard's files are (absolute after loading); "": the `web`
    // directory beside the tollgate binary, where `make` builds them.
    std::string assets_dir;
    // Serve the customer web app at / (its files in <assets_dir>/customer).
    bool customer_page = true;
    // How long API keys and accounts' tenants and subscriptions read by
    // requests are reused (http/api/access_cache.h); 0 = read every time.
    std::int64_t access_cache_ms = 1'000;
    std::int64_t body_bytes_max = 32ll * 1024 * 1024;
    int threads = 2;
    int concurrent_jobs_max = 32;
    int account_jobs_max = 16;  // unfinished jobs per account; 0 = no limit
    int tenant_jobs_max = 0;    // unfinished jobs per tenant; 0 = no limit
    int job_timeout_ms = 600'000;
    int worker_jobs_max = 2;  // jobs one worker holds at once
    int retries_max = 2;      // other workers tried after a failure safe to repeat
    bool retry_execution_errors = false;
    int health_interval_ms = 1000;            // worker probes
    std::string price_book_path;              // absolute after loading
    std::int64_t sweep_interval_ms = 60'000;  // plan renewals and grant expiry
    pricing::PriceBook price_book;
    std::vector<WorkflowConfig> workflows;
    // [results]: empty dir means <data_dir>/results, decided at start (after
    // --data-dir); an empty secret is generated once and kept in the data dir.
    std::string results_dir;  // absolute after loading, when set
    std::int64_t result_url_ttl_s = 3600;
    std::string result_url_secret;
    // [webhooks]
    int webhook_attempts_max = 8;
    std::int64_t webhook_backoff_initial_ms = 1000;
    std::int64_t webhook_backoff_max_ms = 600'000;
    int webhook_timeout_ms = 10'000;
    std::string webhook_secret;  // empty: generated once and kept in the data dir
    // Deliver to loopback, private and link-local addresses too (a receiver on
    // the operator's own network). Off: only public addresses (SSRF guard).
    bool webhook_allow_private_addresses = false;
    // [dedupe]: duplicate detection (window_s, policy, near_policy,
    // near_distance_max, scope).
    jobs::DedupeSettings dedupe;
    // [rate_limits]: every account's limits unless one of its plans sets its
    // own (all 0, the default: no limits); accounts tracked in memory.
    pricing::RateLimits rate_limits;
    int rate_limit_accounts_max = 100'000;
    // [usage]: the external stores usage records are exported to (URLs as
    // usage/export/sink_url.h reads them; none by default), and the
    // exporter's pace: records per batch, the idle wait, and the longest
    // wait between retries of a sink that is down.
    std::vector<std::string> usage_export_to;
    int usage_export_batch_max = 1000;
    std::int64_t usage_export_interval_ms = 1000;
    std::int64_t usage_export_backoff_max_ms = 30'000;
    // [reports]: what a token and a GPU-second are worth (millionths of
    // `currency`), for revenue against GPU cost; and the tokens per
    // GPU-second `tollgate calibrate` aims prices at (0: --target must say).
    usage::ReportPrices report_prices;
    double calibration_tokens_per_gpu_second = 0;
    // [facade]: ComfyUI's routes for ComfyUI clients, and the rules that
    // price their graphs; nullopt when not enabled. Its worker_urls are every
    // configured workflow's workers.
    std::optional<http::facade::FacadeOptions> facade;
};

core::Result<Config> load_config(const std::string& path);

// Every configured workflow is priced, and every priced workflow is
// configured. Errors: "invalid_price_book", naming both files.
core::Status check_book_against_workflows(const pricing::PriceBook& book, const Config& c);
core::Result<Config> parse_config(std::string_view toml_text, const std::string& source_path);

struct HostPort {
    std::string host;
    std::uint16_t port;
};
// "127.0.0.1:8080" → {host, port}; port 0 is allowed (pick a free one).
core::Result<HostPort> parse_listen(std::string_view text);

}  // namespace tollgate::app
