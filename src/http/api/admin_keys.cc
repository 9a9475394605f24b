// Admin routes for API keys: mint one (its secret is in that answer and
// nowhere else, ever), list an account's keys (ids and metadata, never a
// secret or its hash), and revoke one by id. Keys are logged by id only.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"

namespace tollgate::http {
namespace {

// A request may name each scope once; more entries than that is a mistake.
constexpr std::size_t kScopesListMax = 8;

nlohmann::json scopes_json(ledger::KeyScopes scopes) {
    nlohmann::json out = nlohmann::json::array();
    for (ledger::KeyScope scope : {ledger::KeyScope::Jobs, ledger::KeyScope::Read}) {
        if (scopes.has(scope)) out.push_back(ledger::to_string(scope));
    }
    return out;
}

nlohmann::json optional_ms(const std::optional<std::int64_t>& ms) {
    return ms ? nlohmann::json(*ms) : nlohmann::json(nullptr);
}

std::string_view state_name(ledger::ApiKeyState state) {
    switch (state) {
        case ledger::ApiKeyState::Active:
            return "active";
        case ledger::ApiKeyState::Expired:
            return "expired";
        case ledger::ApiKeyState::Revoked:
            return "revoked";
    }
    return "revoked";
}

// {"scopes": ["jobs", "read"]}: absent means every scope.
core::Result<ledger::KeyScopes> read_scopes(const nlohmann::json& body) {
    if (!body.contains("scopes")) return ledger::KeyScopes::all();
    const nlohmann::json& list = body["scopes"];
    const auto bad = [] {
        return core::make_error("invalid_scopes",
                                "'scopes' must be a non-empty list of \"jobs\" and \"read\"");
    };
    if (!list.is_array() || list.empty() || list.size() > kScopesListMax) return bad();
    ledger::KeyScopes scopes;
    for (const nlohmann::json& name : list) {
        if (!name.is_string()) return bad();
        auto scope = ledger::parse_key_scope(name.get<std::string>());
        if (!scope) return bad();
        scopes.add(*scope);
    }
    return scopes;
}

}  // namespace

// POST /admin/accounts/{id}/keys [{"scopes": [...], "expires_in_seconds": N}]
Response Api::admin_create_key(const Request& request, const std::string& account_id) {
    nlohmann::json body = nlohmann::json::object();
    if (!request.body.empty()) {
        auto parsed = json_body(request);
        if (!parsed.ok()) return error_response(parsed.error());
        body = std::move(parsed).value();
    }
    auto scopes = read_scopes(body);
    if (!scopes.ok()) return error_response(scopes.error());
    ledger::ApiKeySpec spec;
    spec.account_id = account_id;
    spec.scopes = *scopes;
    if (body.contains("expires_in_seconds")) {
        const nlohmann::json& seconds = body["expires_in_seconds"];
        if (!seconds.is_number_integer() || seconds.get<std::int64_t>() < 1 ||
            seconds.get<std::int64_t>() > kApiKeyLifetimeSecondsMax) {
            return error_response("invalid_expiry",
                                  "'expires_in_seconds' must be an integer from 1 to " +
                                      std::to_string(kApiKeyLifetimeSecondsMax));
        }
        spec.expires_ms = clock_.now_ms() + seconds.get<std::int64_t>() * 1000;
    }
    auto key = ledger_.create_api_key(spec);
    if (!key.ok()) return error_response(key.error());
    spdlog::info("account {}: API key {} created with scopes \"{}\"{}", account_id, key->id,
                 spec.scopes.to_string(),
                 spec.expires_ms ? ", expiring at " + std::to_string(*spec.expires_ms) : "");
    return json_response(201, {{"account_id", account_id},
                               {"key_id", key->id},
                               {"api_key", key->secret},
                               {"scopes", scopes_json(spec.scopes)},
                               {"created_ms", key->created_ms},
                               {"expires_ms", optional_ms(spec.expires_ms)}});
}

// GET /admin/accounts/{id}/keys
Response Api::admin_list_keys(const std::string& account_id) {
    auto keys = ledger_.api_keys(account_id);
    if (!keys.ok()) return error_response(keys.error());
    const std::int64_t now = clock_.now_ms();
    nlohmann::json list = nlohmann::json::array();
    for (const ledger::ApiKeyInfo& key : *keys) {
        list.push_back({{"key_id", key.id},
                        {"scopes", scopes_json(key.scopes)},
                        {"created_ms", key.created_ms},
                        {"expires_ms", optional_ms(key.expires_ms)},
                        {"revoked_ms", optional_ms(key.revoked_ms)},
                        {"state", state_name(key.state_at(now))}});
    }
    return json_response(200, {{"account_id", account_id}, {"keys", list}});
}

// DELETE /admin/accounts/{id}/keys/{key_id}
Response Api::admin_revoke_key(const std::string& account_id, const std::string& key_id) {
    auto revoked = ledger_.revoke_api_key(account_id, key_id);
    if (!revoked.ok()) return error_response(revoked.error());
    switch (revoked->outcome) {
        case ledger::RevokeOutcome::UnknownKey:
            return error_response("unknown_key", "this account has no key with that id");
        case ledger::RevokeOutcome::Revoked:
            spdlog::info("account {}: API key {} revoked", account_id, key_id);
            break;
        case ledger::RevokeOutcome::AlreadyRevoked:
            break;
    }
    return json_response(200, {{"account_id", account_id},
                               {"key_id", key_id},
                               {"state", "revoked"},
                               {"revoked_ms", revoked->revoked_ms}});
}

}  // namespace tollgate::http
