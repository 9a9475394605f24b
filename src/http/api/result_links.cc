#include "http/api/result_links.h"

#include <charconv>

#include "core/assert.h"
#include "core/hash.h"
#include "http/codec/query.h"

namespace tollgate::http {

ResultLinks::ResultLinks(std::string secret, std::int64_t ttl_seconds, const core::Clock& clock)
    : secret_(std::move(secret)), ttl_seconds_(ttl_seconds), clock_(clock) {
    TOLLGATE_ASSERT(!secret_.empty() && ttl_seconds_ > 0);
}

std::string ResultLinks::signature(std::string_view job_id, std::int64_t expires_s) const {
    std::string message(job_id);
    message += '\n';
    message += std::to_string(expires_s);
    return core::hmac_sha256_hex(secret_, message);
}

std::string ResultLinks::url_for(std::string_view job_id) const {
    // Rounded up to the second, so a link lives at least ttl_seconds.
    const std::int64_t expires_s = (clock_.now_ms() + 999) / 1000 + ttl_seconds_;
    return "/v1/results/" + percent_encode(job_id) + "?expires=" + std::to_string(expires_s) +
           "&signature=" + signature(job_id, expires_s);
}

LinkCheck ResultLinks::check(std::string_view job_id, std::string_view expires_text,
                             std::string_view signature_hex) const {
    std::int64_t expires_s = 0;
    const char* end = expires_text.data() + expires_text.size();
    auto [ptr, ec] = std::from_chars(expires_text.data(), end, expires_s);
    if (expires_text.empty() || ec != std::errc() || ptr != end || expires_s <= 0) {
        return LinkCheck::InvalidSignature;
    }
    // Only the canonical decimal form was signed ("+5" or "05" would parse too).
    if (std::to_string(expires_s) != expires_text) return LinkCheck::InvalidSignature;
    if (!core::constant_time_equal(signature(job_id, expires_s), signature_hex)) {
        return LinkCheck::InvalidSignature;
    }
    if (clock_.now_ms() / 1000 >= expires_s) return LinkCheck::Expired;
    return LinkCheck::Valid;
}

}  // namespace tollgate::http
