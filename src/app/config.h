// The gateway's configuration, read from one TOML file.
//
// Owns: parsing and validating [server], [dispatch] and [workflows.*]; the
// [pricing] table is parsed by pricing/. Relative paths are resolved against
// the config file's directory. Errors name the file and the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "pricing/price_book.h"

namespace tollgate::app {

struct WorkflowConfig {
    std::string name;
    std::string template_path;  // absolute after loading
    std::vector<std::string> workers;
};

struct Config {
    std::string source_path;
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    std::string data_dir = "./data";  // absolute after loading
    std::string admin_token;
    std::int64_t body_bytes_max = 32ll * 1024 * 1024;
    int threads = 2;
    int concurrent_jobs_max = 32;
    int job_timeout_ms = 600'000;
    pricing::PriceBook price_book;
    std::vector<WorkflowConfig> workflows;
};

core::Result<Config> load_config(const std::string& path);
core::Result<Config> parse_config(std::string_view toml_text, const std::string& source_path);

struct HostPort {
    std::string host;
    std::uint16_t port;
};
// "127.0.0.1:8080" → {host, port}; port 0 is allowed (pick a free one).
core::Result<HostPort> parse_listen(std::string_view text);

}  // namespace tollgate::app
