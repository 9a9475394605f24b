#include "core/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/assert.h"
#include "core/ids.h"

namespace tollgate::core {

std::string sha256_hex(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_len = 0;
    TOLLGATE_ASSERT(EVP_Digest(data.data(), data.size(), out, &out_len, EVP_sha256(), nullptr) ==
                    1);
    return to_hex(out, out_len);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_len = 0;
    // HMAC() with an explicit output buffer is thread-safe; an empty key needs
    // a non-null pointer all the same.
    static const unsigned char kNoKey = 0;
    const void* key_bytes = key.empty() ? &kNoKey : static_cast<const void*>(key.data());
    TOLLGATE_ASSERT(HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
                         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
                         &out_len) != nullptr);
    return to_hex(out, out_len);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tollgate::core
