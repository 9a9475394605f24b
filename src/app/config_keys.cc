// The configuration's keys (see config_keys.h).
#include "app/config_keys.h"

#include <algorithm>

namespace tollgate::app {

const std::vector<ConfigTable>& config_tables() {
    static const std::vector<ConfigTable> tables = {
        {"server",
         {"listen", "data_dir", "store", "store_prefix", "store_lease_ms", "admin_token",
          "body_bytes_max", "threads", "assets_dir", "customer_page", "log_format",
          "access_cache_ms"}},
        {"dispatch",
         {"concurrent_jobs_max", "account_jobs_max", "job_timeout_ms", "tenant_jobs_max",
          "worker_jobs_max", "retries_max", "retry_execution_errors", "health_interval_ms"}},
        {"pricing", {"book", "sweep_interval_ms"}},
        {"results", {"dir", "url_ttl_s", "url_secret"}},
        {"webhooks",
         {"attempts_max", "backoff_initial_ms", "backoff_max_ms", "timeout_ms",
          "allow_private_addresses", "secret"}},
        {"dedupe", {"policy", "near_policy", "near_distance_max", "window_s", "scope"}},
        {"rate_limits",
         {"requests_per_minute", "burst_requests", "upload_bytes_per_minute", "burst_upload_bytes",
          "accounts_max"}},
        {"usage", {"export_to", "export_batch_max", "export_interval_ms", "export_backoff_max_ms"}},
        {"reports",
         {"currency", "token_value_micros", "gpu_second_cost_micros",
          "calibration_tokens_per_gpu_second"}},
        {"facade", {"enabled", "default_workflow", "rules"}},
        {"facade.rules", {"class_type", "workflow", "when", "size_input", "upscale_input"}},
        {"workflows.<name>", {"template", "workers", "warmup", "params"}},
    };
    return tables;
}

const std::vector<std::string_view>& config_table_keys(std::string_view name) {
    static const std::vector<std::string_view> kNone;
    for (const ConfigTable& t : config_tables()) {
        if (t.name == name) return t.keys;
    }
    return kNone;
}

std::vector<std::string_view> config_top_level_keys() {
    std::vector<std::string_view> out;
    for (const ConfigTable& t : config_tables()) {
        const std::string_view top = t.name.substr(0, t.name.find('.'));
        if (std::find(out.begin(), out.end(), top) == out.end()) out.push_back(top);
    }
    return out;
}

std::vector<std::string> config_key_paths() {
    std::vector<std::string> out;
    for (const ConfigTable& t : config_tables()) {
        for (std::string_view key : t.keys)
            out.push_back(std::string(t.name) + "." + std::string(key));
    }
    return out;
}

}  // namespace tollgate::app
