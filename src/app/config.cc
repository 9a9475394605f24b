#include "app/config.h"

#include <toml++/toml.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "app/config_keys.h"
#include "core/limits.h"
#include "dispatch/health_monitor.h"
#include "dispatch/scheduler.h"
#include "dispatch/worker_pools.h"
#include "http/api/access_cache.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"
#include "usage/export/outbox.h"
#include "usage/export/sink_url.h"

namespace tollgate::app {
namespace {

core::Error config_error(const std::string& source, const toml::source_region& where,
                         const std::string& what) {
    std::string at = source;
    if (where.begin.line > 0) at += ":" + std::to_string(where.begin.line);
    return core::make_error("invalid_config", at + ": " + what);
}

std::string resolve(const std::string& base_dir, const std::string& path) {
    std::filesystem::path p(path);
    if (p.is_absolute()) return p.lexically_normal().string();
    return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

// Reads an optional integer key within [lo, hi].
core::Status read_int(const toml::table& t, const char* key, std::int64_t lo, std::int64_t hi,
                      const std::string& source, const std::string& table_name, std::int64_t* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return {};
    auto v = n->value<std::int64_t>();
    if (!n->is_integer() || !v || *v < lo || *v > hi) {
        return config_error(source, n->source(),
                            table_name + "." + key + " must be an integer from " +
                                std::to_string(lo) + " to " + std::to_string(hi));
    }
    *out = *v;
    return {};
}

core::Status read_string(const toml::table& t, const char* key, const std::string& source,
                         const std::string& table_name, std::string* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return {};
    if (!n->is_string()) {
        return config_error(source, n->source(), table_name + "." + key + " must be a string");
    }
    *out = *n->value<std::string>();
    return {};
}

core::Status read_bool(const toml::table& t, const char* key, const std::string& source,
                       const std::string& table_name, bool* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return {};
    if (!n->is_boolean()) {
        return config_error(source, n->source(), table_name + "." + key + " must be true or false");
    }
    *out = *n->value<bool>();
    return {};
}

// Refuses a key of `t` that `allowed` (config_keys.h) does not list.
core::Status check_keys(const toml::table& t, const std::vector<std::string_view>& allowed,
                        const std::string& source, const std::string& table_name) {
    for (const auto& [k, node] : t) {
        bool known = false;
        for (std::string_view a : allowed) known = known || k.str() == a;
        if (!known) {
            return config_error(source, node.source(),
                                "unknown key " + table_name + "." + std::string(k.str()));
        }
    }
    return {};
}

core::Status parse_server(const toml::table& root, const std::string& source,
                          const std::string& base_dir, Config& c) {
    const toml::table* server = root["server"].as_table();
    if (server == nullptr) return {};
    core::Status s = check_keys(*server, config_table_keys("server"), source, "server");
    if (!s.ok()) return s;
    if (!(s = read_string(*server, "log_format", source, "server", &c.log_format)).ok()) return s;
    if (!(s = read_string(*server, "assets_dir", source, "server", &c.assets_dir)).ok()) return s;
    if (!c.assets_dir.empty()) c.assets_dir = resolve(base_dir, c.assets_dir);
    if (!(s = read_bool(*server, "customer_page", source, "server", &c.customer_page)).ok()) {
        return s;
    }
    if (c.log_format != "text" && c.log_format != "json") {
        return config_error(source, server->get("log_format")->source(),
                            "server.log_format must be \"text\" or \"json\"");
    }
    std::string listen;
    if (!(s = read_string(*server, "listen", source, "server", &listen)).ok()) return s;
    if (!listen.empty()) {
        auto hp = parse_listen(listen);
        if (!hp.ok()) {
            return config_error(source, server->get("listen")->source(), hp.error().message);
        }
        c.listen_host = hp->host;
        c.listen_port = hp->port;
    }
    if (!(s = read_string(*server, "data_dir", source, "server", &c.data_dir)).ok()) return s;
    if (!(s = read_string(*server, "admin_token", source, "server", &c.admin_token)).ok()) {
        return s;
    }
    if (!(s = read_int(*server, "body_bytes_max", 1024, core::limits::kUploadBytesMax, source,
                       "server", &c.body_bytes_max))
             .ok()) {
        return s;
    }
    std::int64_t threads = c.threads;
    if (!(s = read_int(*server, "threads", 1, 64, source, "server", &threads)).ok()) return s;
    c.threads = static_cast<int>(threads);
    c.data_dir = resolve(base_dir, c.data_dir);
    if (!(s = read_string(*server, "store", source, "server", &c.store)).ok()) return s;
    if (!c.store.empty() && c.store != "sqlite") {
        auto url = store::redis::parse_redis_url(c.store);
        if (!url.ok())
            return config_error(source, server->get("store")->source(), url.error().message);
    }
    if (!(s = read_string(*server, "store_prefix", source, "server", &c.store_prefix)).ok())
        return s;
    if (!(s = read_int(*server, "store_lease_ms", 1'000, 600'000, source, "server",
                       &c.store_lease_ms))
             .ok()) {
        return s;
    }
    if (!(s = read_int(*server, "access_cache_ms", 0, http::kAccessCacheTtlMsMax, source, "server",
                       &c.access_cache_ms))
             .ok()) {
        return s;
    }
    if (core::Status p = store::redis::check_prefix(c.store_prefix); !p.ok())
        return config_error(source, server->get("store_prefix")->source(), p.error().message);
    return {};
}

// Reads an optional integer key within [lo, hi] into an int.
core::Status read_small_int(const toml::table& t, const char* key, int lo, int hi,
                            const std::string& source, const std::string& table_name, int* out) {
    std::int64_t value = *out;
    core::Status s = read_int(t, key, lo, hi, source, table_name, &value);
    if (s.ok()) *out = static_cast<int>(value);
    return s;
}

core::Status parse_dispatch(const toml::table& root, const std::string& source, Config& c) {
    const toml::table* d = root["dispatch"].as_table();
    if (d == nullptr) return {};
    const std::string t = "dispatch";
    core::Status s = check_keys(*d, config_table_keys("dispatch"), source, t);
    if (!s.ok()) return s;
    const std::pair<const char*, std::pair<std::array<int, 2>, int*>> ints[] = {
        {"account_jobs_max", {{0, core::limits::kAccountJobsMax}, &c.account_jobs_max}},
        {"tenant_jobs_max", {{0, core::limits::kAccountJobsMax}, &c.tenant_jobs_max}},
        {"concurrent_jobs_max", {{1, core::limits::kDispatchThreadsMax}, &c.concurrent_jobs_max}},
        {"job_timeout_ms", {{1000, core::limits::kJobTimeoutMsMax}, &c.job_timeout_ms}},
        {"worker_jobs_max", {{1, dispatch::kWorkerJobsMax}, &c.worker_jobs_max}},
        {"retries_max", {{0, dispatch::kRetriesMax}, &c.retries_max}},
        {"health_interval_ms",
         {{dispatch::kHealthIntervalMsMin, dispatch::kHealthIntervalMsMax}, &c.health_interval_ms}},
    };
    for (const auto& [key, spec] : ints) {
        const auto& [range, out] = spec;
        if (!(s = read_small_int(*d, key, range[0], range[1], source, t, out)).ok()) return s;
    }
    return read_bool(*d, "retry_execution_errors", source, t, &c.retry_execution_errors);
}

core::Status parse_workflows(const toml::table& root, const std::string& source,
                             const std::string& base_dir, Config& c) {
    const toml::table* wf = root["workflows"].as_table();
    if (wf == nullptr || wf->empty()) {
        return config_error(source, root.source(), "at least one [workflows.<name>] is required");
    }
    for (const auto& [name, node] : *wf) {
        std::string table_name = "workflows." + std::string(name.str());
        const toml::table* t = node.as_table();
        if (t == nullptr)
            return config_error(source, node.source(), table_name + " must be a table");
        core::Status s = check_keys(*t, config_table_keys("workflows.<name>"), source, table_name);
        if (!s.ok()) return s;
        WorkflowConfig w;
        w.name = std::string(name.str());
        if (!(s = read_string(*t, "template", source, table_name, &w.template_path)).ok()) return s;
        if (w.template_path.empty()) {
            return config_error(source, t->source(), table_name + ".template is required");
        }
        w.template_path = resolve(base_dir, w.template_path);
        const toml::array* workers = (*t)["workers"].as_array();
        if (workers == nullptr || workers->empty()) {
            return config_error(source, t->source(),
                                table_name + ".workers must be a non-empty list of URLs");
        }
        for (const toml::node& url : *workers) {
            auto v = url.value<std::string>();
            if (!v || v->rfind("http://", 0) != 0) {
                return config_error(source, url.source(),
                                    table_name + ".workers entries must be http:// URLs");
            }
            w.workers.push_back(*v);
        }
        if (!(s = read_bool(*t, "warmup", source, table_name, &w.warmup)).ok()) return s;
        if (const toml::node* params = t->get("params")) {
            const toml::table* pt = params->as_table();
            if (pt == nullptr) {
                return config_error(
                    source, params->source(),
                    table_name + ".params must be a table of \"<node id>.<input>\"");
            }
            for (const auto& [param, target] : *pt) {
                auto v = target.value<std::string>();
                if (!target.is_string() || !v) {
                    return config_error(source, target.source(),
                                        table_name + ".params." + std::string(param.str()) +
                                            " must be a string \"<node id>.<input>\"");
                }
                w.params.emplace_back(std::string(param.str()), *v);
            }
        }
        c.workflows.push_back(std::move(w));
    }
    return {};
}

core::Status parse_pricing(const toml::table& root, const std::string& source,
                           const std::string& base_dir, Config& c) {
    const toml::table* p = root["pricing"].as_table();
    if (p == nullptr) {
        return config_error(source, root.source(),
                            "[pricing] book = \"<file>\" is required: it names the price book");
    }
    core::Status s = check_keys(*p, config_table_keys("pricing"), source, "pricing");
    if (!s.ok()) return s;
    if (!(s = read_string(*p, "book", source, "pricing", &c.price_book_path)).ok()) return s;
    if (c.price_book_path.empty()) {
        return config_error(source, p->source(), "pricing.book is required");
    }
    c.price_book_path = resolve(base_dir, c.price_book_path);
    return read_int(*p, "sweep_interval_ms", 1000, 3'600'000, source, "pricing",
                    &c.sweep_interval_ms);
}

// A configured secret: absent, or at least kSecretBytesMin bytes.
core::Status read_secret(const toml::table& t, const char* key, const std::string& source,
                         const std::string& table_name, std::string* out) {
    core::Status s = read_string(t, key, source, table_name, out);
    if (!s.ok()) return s;
    if (t.get(key) != nullptr && out->size() < core::limits::kSecretBytesMin) {
        return config_error(source, t.get(key)->source(),
                            table_name + "." + key + " must be at least " +
                                std::to_string(core::limits::kSecretBytesMin) +
                                " characters (or left out to generate one)");
    }
    return {};
}

core::Status parse_results(const toml::table& root, const std::string& source,
                           const std::string& base_dir, Config& c) {
    const toml::table* r = root["results"].as_table();
    if (r == nullptr) return {};
    core::Status s = check_keys(*r, config_table_keys("results"), source, "results");
    if (!s.ok()) return s;
    if (!(s = read_string(*r, "dir", source, "results", &c.results_dir)).ok()) return s;
    if (!c.results_dir.empty()) c.results_dir = resolve(base_dir, c.results_dir);
    if (!(s = read_int(*r, "url_ttl_s", 1, core::limits::kResultUrlTtlSecondsMax, source, "results",
                       &c.result_url_ttl_s))
             .ok()) {
        return s;
    }
    return read_secret(*r, "url_secret", source, "results", &c.result_url_secret);
}

core::Status parse_webhooks(const toml::table& root, const std::string& source, Config& c) {
    const toml::table* w = root["webhooks"].as_table();
    if (w == nullptr) return {};
    core::Status s = check_keys(*w, config_table_keys("webhooks"), source, "webhooks");
    if (!s.ok()) return s;
    std::int64_t attempts = c.webhook_attempts_max, timeout = c.webhook_timeout_ms;
    if (!(s = read_int(*w, "attempts_max", 1, core::limits::kWebhookAttemptsMax, source, "webhooks",
                       &attempts))
             .ok()) {
        return s;
    }
    if (!(s = read_int(*w, "backoff_initial_ms", 1, core::limits::kWebhookBackoffMsMax, source,
                       "webhooks", &c.webhook_backoff_initial_ms))
             .ok()) {
        return s;
    }
    if (!(s = read_int(*w, "backoff_max_ms", 1, core::limits::kWebhookBackoffMsMax, source,
                       "webhooks", &c.webhook_backoff_max_ms))
             .ok()) {
        return s;
    }
    if (c.webhook_backoff_initial_ms > c.webhook_backoff_max_ms) {
        return config_error(source, w->source(),
                            "webhooks.backoff_initial_ms must not exceed webhooks.backoff_max_ms");
    }
    if (!(s = read_int(*w, "timeout_ms", 100, core::limits::kWebhookTimeoutMsMax, source,
                       "webhooks", &timeout))
             .ok()) {
        return s;
    }
    if (!(s = read_bool(*w, "allow_private_addresses", source, "webhooks",
                        &c.webhook_allow_private_addresses))
             .ok()) {
        return s;
    }
    c.webhook_attempts_max = static_cast<int>(attempts);
    c.webhook_timeout_ms = static_cast<int>(timeout);
    return read_secret(*w, "secret", source, "webhooks", &c.webhook_secret);
}

// Reads an optional string key that must be one of `names` (parsed by `parse`).
template <typename Enum, typename Parse>
core::Status read_choice(const toml::table& t, const char* key, const std::string& source,
                         const std::string& table_name, std::string_view names, Parse parse,
                         Enum* out) {
    std::string text;
    core::Status s = read_string(t, key, source, table_name, &text);
    if (!s.ok() || t.get(key) == nullptr) return s;
    auto value = parse(text);
    if (!value) {
        return config_error(source, t.get(key)->source(),
                            table_name + "." + key + " must be one of " + std::string(names) +
                                " (got \"" + text + "\")");
    }
    *out = *value;
    return {};
}

core::Status parse_dedupe(const toml::table& root, const std::string& source, Config& c) {
    const toml::table* d = root["dedupe"].as_table();
    if (d == nullptr) return {};
    const std::string t = "dedupe";
    core::Status s = check_keys(*d, config_table_keys("dedupe"), source, t);
    if (!s.ok()) return s;
    jobs::DedupeSettings& out = c.dedupe;
    if (!(s = read_int(*d, "window_s", 1, core::limits::kDedupeWindowSecondsMax, source, t,
                       &out.window_s))
             .ok()) {
        return s;
    }
    if (!(s = read_small_int(*d, "near_distance_max", 0, core::limits::kNearDistanceMax, source, t,
                             &out.near_distance_max))
             .ok()) {
        return s;
    }
    if (!(s = read_choice(*d, "policy", source, t, "\"reuse\", \"reject\" or \"allow\"",
                          jobs::parse_dedupe_policy, &out.policy))
             .ok()) {
        return s;
    }
    if (!(s = read_choice(*d, "near_policy", source, t,
                          "\"flag\", \"reuse\", \"reject\" or \"allow\"",
                          jobs::parse_near_dedupe_policy, &out.near_policy))
             .ok()) {
        return s;
    }
    return read_choice(*d, "scope", source, t, "\"account\" or \"tenant\"",
                       jobs::parse_dedupe_scope, &out.scope);
}

core::Status parse_rate_limits(const toml::table& root, const std::string& source, Config& c) {
    const toml::table* r = root["rate_limits"].as_table();
    if (r == nullptr) return {};
    const std::string t = "rate_limits";
    core::Status s = check_keys(*r, config_table_keys("rate_limits"), source, t);
    if (!s.ok()) return s;
    const std::tuple<const char*, std::int64_t, std::int64_t*> ints[] = {
        {"requests_per_minute", core::limits::kRateRequestsPerMinuteMax,
         &c.rate_limits.requests_per_minute},
        {"burst_requests", core::limits::kRateRequestsPerMinuteMax, &c.rate_limits.burst_requests},
        {"upload_bytes_per_minute", core::limits::kRateUploadBytesPerMinuteMax,
         &c.rate_limits.upload_bytes_per_minute},
        {"burst_upload_bytes", core::limits::kRateUploadBytesPerMinuteMax,
         &c.rate_limits.burst_upload_bytes},
    };
    for (const auto& [key, max, out] : ints) {
        if (!(s = read_int(*r, key, 0, max, source, t, out)).ok()) return s;
    }
    return read_small_int(*r, "accounts_max", 1, core::limits::kRateLimitAccountsMax, source, t,
                          &c.rate_limit_accounts_max);
}

// [facade]: enabled, default_workflow, and [[facade.rules]] of class_type,
// workflow, when (a table of literal inputs), size_input, upscale_input.
// The workflows are checked against the book once it is loaded.
core::Status parse_facade(const toml::table& root, const std::string& source, Config& c) {
    const toml::table* f = root["facade"].as_table();
    if (f == nullptr) return {};
    const std::string t = "facade";
    core::Status s = check_keys(*f, config_table_keys("facade"), source, t);
    if (!s.ok()) return s;
    bool enabled = false;
    if (!(s = read_bool(*f, "enabled", source, t, &enabled)).ok()) return s;
    http::facade::FacadeOptions options;
    if (!(s = read_string(*f, "default_workflow", source, t, &options.rules.default_workflow)).ok())
        return s;
    if (const toml::node* n = f->get("rules"); n != nullptr) {
        const toml::array* rules = n->as_array();
        if (rules == nullptr || rules->size() > http::facade::kRulesMax) {
            return config_error(source, n->source(),
                                "facade.rules must be an array of tables ([[facade.rules]]), "
                                "at most 256");
        }
        for (const toml::node& item : *rules) {
            const toml::table* r = item.as_table();
            const std::string rt = "facade.rules";
            if (r == nullptr) return config_error(source, item.source(), rt + " holds tables");
            if (!(s = check_keys(*r, config_table_keys("facade.rules"), source, rt)).ok()) return s;
            http::facade::PromptRule rule;
            if (!(s = read_string(*r, "class_type", source, rt, &rule.class_type)).ok()) return s;
            if (!(s = read_string(*r, "workflow", source, rt, &rule.workflow)).ok()) return s;
            if (!(s = read_string(*r, "size_input", source, rt, &rule.size_input)).ok()) return s;
            if (!(s = read_string(*r, "upscale_input", source, rt, &rule.upscale_input)).ok())
                return s;
            if (rule.class_type.empty() || rule.workflow.empty()) {
                return config_error(source, r->source(), rt + " needs a class_type and a workflow");
            }
            if (const toml::node* w = r->get("when"); w != nullptr) {
                const toml::table* when = w->as_table();
                if (when == nullptr || when->size() > http::facade::kRuleConditionsMax) {
                    return config_error(source, w->source(),
                                        rt + ".when is a table of at most 16 input = value");
                }
                for (const auto& [key, value] : *when) {
                    nlohmann::json literal;
                    if (auto str = value.value<std::string>(); value.is_string()) {
                        literal = *str;
                    } else if (value.is_integer()) {
                        literal = *value.value<std::int64_t>();
                    } else if (value.is_floating_point()) {
                        literal = *value.value<double>();
                    } else if (value.is_boolean()) {
                        literal = *value.value<bool>();
                    } else {
                        return config_error(source, value.source(),
                                            rt + ".when values are strings, numbers or booleans");
                    }
                    rule.when.emplace_back(std::string(key.str()), std::move(literal));
                }
            }
            options.rules.rules.push_back(std::move(rule));
        }
    }
    if (enabled) c.facade = std::move(options);
    return {};
}

}  // namespace

core::Status check_book_against_workflows(const pricing::PriceBook& book, const Config& c) {
    for (const WorkflowConfig& w : c.workflows) {
        if (book.find(w.name) == nullptr) {
            return core::make_error("invalid_price_book", book.source_name +
                                                              ": no price for workflow " + w.name +
                                                              " (configured in " + c.source_path +
                                                              "): add [workflows." + w.name + "]");
        }
    }
    for (const auto& [name, price] : book.workflows) {
        bool routed = false;
        for (const WorkflowConfig& w : c.workflows) routed = routed || w.name == name;
        if (!routed) {
            return core::make_error("invalid_price_book", book.source_name + ": workflow " + name +
                                                              " is priced but " + c.source_path +
                                                              " has no [workflows." + name +
                                                              "] to run it");
        }
    }
    return {};
}

core::Result<HostPort> parse_listen(std::string_view text) {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        return core::make_error("invalid_listen", "listen address must be HOST:PORT");
    }
    std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) {
        return core::make_error("invalid_listen", "listen port must be 0 to 65535");
    }
    return HostPort{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

core::Status parse_usage(const toml::table& root, const std::string& source, Config& c) {
    const toml::table* u = root["usage"].as_table();
    if (u == nullptr) return {};
    const std::string t = "usage";
    core::Status s = check_keys(*u, config_table_keys("usage"), source, t);
    if (!s.ok()) return s;
    if (const toml::node* n = u->get("export_to"); n != nullptr) {
        const toml::array* list = n->as_array();
        if (list == nullptr) {
            return config_error(source, n->source(), "usage.export_to must be a list of URLs");
        }
        if (list->size() > core::limits::kUsageSinksMax) {
            return config_error(source, n->source(),
                                "usage.export_to names more than " +
                                    std::to_string(core::limits::kUsageSinksMax) + " sinks");
        }
        std::vector<std::string> names;
        for (const toml::node& item : *list) {
            if (!item.is_string()) {
                return config_error(source, item.source(), "usage.export_to must hold URLs");
            }
            auto url = usage::parse_sink_url(*item.value<std::string>());
            if (!url.ok()) return config_error(source, item.source(), url.error().message);
            for (const std::string& seen : names) {
                if (seen == url->name) {
                    return config_error(source, item.source(),
                                        "usage.export_to names " + seen + " twice");
                }
            }
            names.push_back(url->name);
            c.usage_export_to.push_back(url->url);
        }
    }
    if (!(s = read_small_int(*u, "export_batch_max", 1, static_cast<int>(usage::kOutboxPageMax),
                             source, t, &c.usage_export_batch_max))
             .ok()) {
        return s;
    }
    if (!(s = read_int(*u, "export_interval_ms", 10, 3'600'000, source, t,
                       &c.usage_export_interval_ms))
             .ok()) {
        return s;
    }
    return read_int(*u, "export_backoff_max_ms", 100, 3'600'000, source, t,
                    &c.usage_export_backoff_max_ms);
}

core::Status parse_reports(const toml::table& root, const std::string& source, Config& c) {
    const toml::table* r = root["reports"].as_table();
    if (r == nullptr) return {};
    const std::string t = "reports";
    core::Status s = check_keys(*r, config_table_keys("reports"), source, t);
    if (!s.ok()) return s;
    usage::ReportPrices& p = c.report_prices;
    if (!(s = read_string(*r, "currency", source, t, &p.currency)).ok()) return s;
    if (p.currency.size() > 8 ||
        p.currency.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
        return config_error(source, r->get("currency")->source(),
                            "reports.currency must be a code of up to 8 capital letters (USD)");
    }
    for (auto [key, out] : {std::pair{"token_value_micros", &p.token_value_micros},
                            std::pair{"gpu_second_cost_micros", &p.gpu_second_cost_micros}}) {
        if (!(s = read_int(*r, key, 0, usage::kReportPriceMicrosMax, source, t, out)).ok())
            return s;
    }
    if (const toml::node* n = r->get("calibration_tokens_per_gpu_second"); n != nullptr) {
        auto v = n->value<double>();
        if (!(n->is_floating_point() || n->is_integer()) || !v || !(*v > 0) || *v > 1e6) {
            return config_error(source, n->source(),
                                "reports.calibration_tokens_per_gpu_second must be a number "
                                "above 0 and at most 1000000");
        }
        c.calibration_tokens_per_gpu_second = *v;
    }
    return {};
}

core::Result<Config> parse_config(std::string_view toml_text, const std::string& source_path) {
    toml::table root;
    try {
        root = toml::parse(toml_text, source_path);
    } catch (const toml::parse_error& e) {
        return config_error(source_path, e.source(), std::string(e.description()));
    }
    Config c;
    c.source_path = source_path;
    std::string base_dir = std::filesystem::path(source_path).parent_path().string();
    if (base_dir.empty()) base_dir = ".";
    core::Status s = check_keys(root, config_top_level_keys(), source_path, "(top level)");
    if (!s.ok()) return s.error();
    if (!(s = parse_server(root, source_path, base_dir, c)).ok()) return s.error();
    if (!(s = parse_dispatch(root, source_path, c)).ok()) return s.error();
    if (!(s = parse_pricing(root, source_path, base_dir, c)).ok()) return s.error();
    if (!(s = parse_results(root, source_path, base_dir, c)).ok()) return s.error();
    if (!(s = parse_webhooks(root, source_path, c)).ok()) return s.error();
    if (!(s = parse_dedupe(root, source_path, c)).ok()) return s.error();
    if (!(s = parse_rate_limits(root, source_path, c)).ok()) return s.error();
    if (!(s = parse_usage(root, source_path, c)).ok()) return s.error();
    if (!(s = parse_reports(root, source_path, c)).ok()) return s.error();
    if (!(s = parse_workflows(root, source_path, base_dir, c)).ok()) return s.error();
    auto book = pricing::load_price_book(c.price_book_path);
    if (!book.ok()) return book.error();
    c.price_book = std::move(book).value();
    if (!(s = check_book_against_workflows(c.price_book, c)).ok()) return s.error();
    if (!(s = parse_facade(root, source_path, c)).ok()) return s.error();
    if (c.facade) {
        std::vector<std::string> named;
        for (const auto& rule : c.facade->rules.rules) named.push_back(rule.workflow);
        if (!c.facade->rules.default_workflow.empty())
            named.push_back(c.facade->rules.default_workflow);
        for (const std::string& w : named) {
            if (c.price_book.find(w) == nullptr) {
                return core::make_error("invalid_config", source_path +
                                                              ": [facade] names workflow " + w +
                                                              ", which the price book lacks");
            }
        }
        for (const WorkflowConfig& w : c.workflows) {
            for (const std::string& url : w.workers) {
                auto& urls = c.facade->worker_urls;
                if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
            }
        }
    }
    return c;
}

core::Result<Config> load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return core::make_error("invalid_config", "cannot read config file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path);
}

}  // namespace tollgate::app
