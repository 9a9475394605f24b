// GET /dashboard: the operator dashboard's static files (web/, built into the
// asset directory by `make`). The page itself holds nothing secret: it asks
// for the admin token and every figure it shows comes from the admin API
// with that token.
#include <fstream>
#include <sstream>

#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"

namespace tollgate::http {
namespace {

// The largest asset served (uPlot is about 50 KiB).
constexpr std::uintmax_t kAssetBytesMax = 4u << 20;

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

Response Api::dashboard(const Request& request) {
    if (request.method != "GET" && request.method != "HEAD") {
        return error_response("method_not_allowed", "use GET");
    }
    std::string_view name = std::string_view(request.path).substr(std::string("/dashboard").size());
    if (name.empty() || name == "/") {
        name = "index.html";
    } else {
        name.remove_prefix(1);
    }
    // One plain file name: no directories, no dot files, a known type.
    if (options_.assets_dir.empty() || name.size() > 64 || name.front() == '.' ||
        name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            std::string_view::npos ||
        content_type_of(name).empty()) {
        return not_found();
    }
    const std::string path = options_.assets_dir + "/" + std::string(name);
    std::ifstream in(path, std::ios::binary);
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
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "frame-ancestors 'none'");
    return r;
}

}  // namespace tollgate::http
