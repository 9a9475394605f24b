// API key scopes and states: plain functions shared by every backend.
#include "core/assert.h"
#include "ledger/ledger.h"

namespace tollgate::ledger {

std::string_view to_string(KeyScope scope) {
    switch (scope) {
        case KeyScope::Jobs:
            return "jobs";
        case KeyScope::Read:
            return "read";
    }
    TOLLGATE_ASSERT(false);  // the enum has no other value
    return "";
}

std::optional<KeyScope> parse_key_scope(std::string_view name) {
    if (name == "jobs") return KeyScope::Jobs;
    if (name == "read") return KeyScope::Read;
    return std::nullopt;
}

std::string KeyScopes::to_string() const {
    std::string out;
    for (KeyScope scope : {KeyScope::Jobs, KeyScope::Read}) {
        if (!has(scope)) continue;
        if (!out.empty()) out += ' ';
        out += ledger::to_string(scope);
    }
    return out;
}

std::optional<KeyScopes> KeyScopes::parse(std::string_view text) {
    KeyScopes scopes;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ') {
            ++i;
            continue;
        }
        std::size_t end = text.find(' ', i);
        if (end == std::string_view::npos) end = text.size();
        auto scope = parse_key_scope(text.substr(i, end - i));
        if (!scope) return std::nullopt;
        scopes.add(*scope);
        i = end;
    }
    return scopes;
}

ApiKeyState ApiKeyInfo::state_at(std::int64_t now_ms) const {
    if (revoked_ms) return ApiKeyState::Revoked;
    if (expires_ms && *expires_ms <= now_ms) return ApiKeyState::Expired;
    return ApiKeyState::Active;
}

}  // namespace tollgate::ledger
