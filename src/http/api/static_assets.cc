#include "http/api/static_assets.h"

#include <fstream>
#include <sstream>

#include "http/api/api_helpers.h"
#include "http/api/error_map.h"

namespace tollgate::http {
namespace {

// The largest asset served (uPlot is about 50 KiB).
constexpr std::uintmax_t kAssetBytesMax = 4u << 20;
constexpr std::size_t kAssetNameBytesMax = 64;

std::string_view content_type_of(std::string_view name) {
    auto ends = [&](std::string_view ext) {
        return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
    };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".png")) return "image/png";
    if (ends(".svg")) return "image/svg+xml";
    return "";
}

}  // namespace

Response static_asset(const Request& request, const std::string& dir, std::string_view name,
                      std::string_view content_security_policy) {
    if (request.method != "GET" && request.method != "HEAD") {
        return error_response("method_not_allowed", "use GET");
    }
    // One plain file name: no directories, no dot files, a known type.
    if (dir.empty() || name.empty() || name.size() > kAssetNameBytesMax || name.front() == '.' ||
        name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            std::string_view::npos ||
        content_type_of(name).empty()) {
        return not_found();
    }
    std::ifstream in(dir + "/" + std::string(name), std::ios::binary);
    if (!in) return not_found();
    std::ostringstream body;
    body << in.rdbuf();
    if (body.str().size() > kAssetBytesMax) return not_found();
    Response r;
    r.status = 200;
    r.content_type = std::string(content_type_of(name));
    r.body = body.str();
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Content-Security-Policy", std::string(content_security_policy));
    return r;
}

}  // namespace tollgate::http
