// GET /dashboard: the operator dashboard's static files (web/src, built into
// the asset directory by `make`). The page itself holds nothing secret: it
// asks for the admin token and every figure it shows comes from the admin API
// with that token.
#include "http/api/api.h"
#include "http/api/static_assets.h"

namespace tollgate::http {

Response Api::dashboard(const Request& request) {
    std::string_view name = std::string_view(request.path).substr(std::string("/dashboard").size());
    if (name.empty() || name == "/") {
        name = "index.html";
    } else {
        name.remove_prefix(1);
    }
    return static_asset(request, options_.assets_dir, name,
                        "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                        "frame-ancestors 'none'");
}

}  // namespace tollgate::http
