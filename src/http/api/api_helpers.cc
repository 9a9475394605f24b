#include "http/api/api_helpers.h"

#include <charconv>

#include "core/limits.h"
#include "core/local_time.h"
#include "core/redact.h"
#include "http/api/error_map.h"
#include "http/api/json_requests.h"
#include "http/api/routes.h"

namespace tollgate::http {

Response json_response(int status, const nlohmann::json& body) {
    Response r;
    r.status = status;
    r.body = body.dump();
    return r;
}

Response retry_later(const std::string& code, const std::string& message,
                     std::int64_t retry_after_s) {
    Response r = error_response(code, message);
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
    return r;
}

std::string log_path(const Request& request) {
    return core::quote_input(request.path, core::kLogEchoBytesMax);
}

std::string bearer_token(const Request& request) {
    const std::string& h = request.header("authorization");
    constexpr std::string_view kPrefix = "Bearer ";
    if (h.size() <= kPrefix.size() || h.compare(0, kPrefix.size(), kPrefix) != 0) return {};
    return h.substr(kPrefix.size());
}

std::optional<ledger::KeyScope> required_scope(const std::string& method) {
    if (method == "GET" || method == "HEAD") return ledger::KeyScope::Read;
    if (method == "POST" || method == "DELETE") return ledger::KeyScope::Jobs;
    return std::nullopt;
}

Response not_found() { return error_response("not_found", "no such resource"); }

Response no_route() { return error_response("not_found", kNoRouteMessage); }

core::Result<nlohmann::json> json_body(const Request& request) {
    return parse_json_object(request.body);
}

core::Result<std::string> optional_string(const nlohmann::json& body, const char* field,
                                          const char* code) {
    if (!body.contains(field)) return std::string();
    if (!body[field].is_string()) {
        return core::make_error(code, std::string("'") + field + "' must be a string");
    }
    return body[field].get<std::string>();
}

core::Result<std::int64_t> parse_instant_ms(const std::string& text, std::int64_t fallback,
                                            const core::TimeZone& zone) {
    if (text.empty()) return fallback;
    if (text.find_first_not_of("0123456789") == std::string::npos) {
        std::int64_t ms = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
        if (ec != std::errc() || end != text.data() + text.size()) {
            return core::make_error("invalid_time",
                                    "time " + core::quote_input(text) + " is out of range");
        }
        return ms;
    }
    auto local = core::parse_local_time_ms(text, zone);
    if (!local.ok()) return core::make_error("invalid_time", local.error().message);
    return local;
}

}  // namespace tollgate::http
