// Signed, expiring links to job results, which work without an API key:
//
//   /v1/results/<job_id>?expires=<unix seconds>&signature=<hex>
//   signature = hex(HMAC-SHA256(secret, job_id + "\n" + expires))
//
// Whoever holds a link may fetch that one result until `expires`; nothing
// else. The secret never leaves the gateway, so only the gateway mints links,
// and a link outlives a restart when the secret does (it is kept in the data
// directory or the config). Pure logic over an injected clock; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace tollgate::http {

enum class LinkCheck {
    Valid,
    InvalidSignature,  // missing, malformed or not ours: 403 invalid_signature
    Expired,           // ours, but past `expires`: 410 url_expired
};

class ResultLinks {
  public:
    // `ttl_seconds` > 0: how long a link minted now stays valid.
    ResultLinks(std::string secret, std::int64_t ttl_seconds, const core::Clock& clock);

    // A link to `job_id`'s result valid for ttl_seconds from now.
    std::string url_for(std::string_view job_id) const;

    // The hex signature of (job_id, expires_s).
    std::string signature(std::string_view job_id, std::int64_t expires_s) const;

    // Checks the query values of a link as sent. The signature is checked
    // first, in constant time, so an expiry is reported only for links we
    // minted; a link is valid while now < expires.
    LinkCheck check(std::string_view job_id, std::string_view expires_text,
                    std::string_view signature_hex) const;

    std::int64_t ttl_seconds() const { return ttl_seconds_; }

  private:
    std::string secret_;
    std::int64_t ttl_seconds_;
    const core::Clock& clock_;
};

}  // namespace tollgate::http
