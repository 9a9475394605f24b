// The customer page and what it reads beyond the other /v1 routes.
//
// GET / and GET /app/<file>: the customer web app's static files (web/customer,
// built into <assets_dir>/customer by `make`), when [server] customer_page is
// on. The page asks for an API key and does everything through the public /v1
// routes with it, so it is also a reference client; it holds nothing secret.
// Its policy allows images from blob: URLs, for the photo the customer picked.
//
// GET /v1/workflows: the workflows the key's account can order under the price
// book in force (its tenant's, when it has one) and their options, so that a
// client offers exactly what the book prices; what each costs is the quote's.
#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "http/api/static_assets.h"
#include "pricing/quote.h"

namespace tollgate::http {

Response Api::customer_page(const Request& request) {
    if (!options_.customer_page) return not_found();
    std::string_view name = request.path;
    if (name == "/") {
        name = "index.html";
    } else {
        name.remove_prefix(std::string_view("/app/").size());
    }
    const std::string dir = options_.assets_dir.empty() ? "" : options_.assets_dir + "/customer";
    return static_asset(request, dir, name,
                        "default-src 'self'; img-src 'self' blob:; base-uri 'none'; "
                        "form-action 'none'; frame-ancestors 'none'");
}

Response Api::get_workflows(const std::string& account_id) {
    auto book = service_.books().current();
    auto terms = service_.plans().terms(account_id, *book);
    if (!terms.ok()) return error_response(terms.error());
    const pricing::TenantTerms* tenant = book->find_tenant(terms->tenant);
    const auto& priced = tenant != nullptr ? tenant->workflows : book->workflows;
    nlohmann::json workflows = nlohmann::json::array();
    for (const auto& [name, w] : priced) {
        nlohmann::json qualities = nlohmann::json::array();
        for (const pricing::QualityLevel& q : w.qualities) qualities.push_back(q.name);
        nlohmann::json factors = nlohmann::json::array();
        for (std::int64_t milli : w.upscale_factors_milli) {
            factors.push_back(pricing::format_micro_tokens(milli * 1000));
        }
        workflows.push_back(
            {{"name", name},
             {"qualities", qualities},
             {"default_quality", w.qualities.empty()
                                     ? nlohmann::json(nullptr)
                                     : nlohmann::json(w.qualities[w.default_quality].name)},
             {"upscale_factors", factors}});
    }
    return json_response(200, {{"book_version", book->version}, {"workflows", workflows}});
}

}  // namespace tollgate::http
