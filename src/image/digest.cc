// MD5 and SHA-256 through OpenSSL 3's EVP interface.
//
// The algorithms are fetched once (EVP_MD_fetch in a function-local static,
// which C++ initialises thread-safely) and reused by every stream; fetching per
// upload costs a provider lookup each time. They are never freed: they live as
// long as the process. The low-level MD5()/SHA256() calls are deprecated in
// OpenSSL 3, so they are not used.
//
// update() walks its input in 64 KiB slices and feeds each slice to MD5 then
// SHA-256 while it is still in cache, so the bytes are read from memory once.
#include "image/digest.h"

#include <openssl/evp.h>

#include <algorithm>

#include "core/assert.h"
#include "core/ids.h"

namespace tollgate::image {

// Outside the anonymous namespace: DigestStream::State, a member of a class
// with external linkage, holds two.
struct DigestContextFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextFree>;

namespace {

constexpr std::size_t kSliceBytes = 64 * 1024;

const EVP_MD* md5_algorithm() {
    static const EVP_MD* const md = EVP_MD_fetch(nullptr, "MD5", nullptr);
    TOLLGATE_ASSERT(md != nullptr && "OpenSSL provides no MD5 (FIPS-only provider?)");
    return md;
}

const EVP_MD* sha256_algorithm() {
    static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    TOLLGATE_ASSERT(md != nullptr && "OpenSSL provides no SHA256");
    return md;
}

DigestContext start(const EVP_MD* md) {
    DigestContext ctx(EVP_MD_CTX_new());
    TOLLGATE_ASSERT(ctx != nullptr);
    const int rc = EVP_DigestInit_ex2(ctx.get(), md, nullptr);
    TOLLGATE_ASSERT(rc == 1);
    return ctx;
}

std::string finish_hex(EVP_MD_CTX* ctx) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    const int rc = EVP_DigestFinal_ex(ctx, out, &size);
    TOLLGATE_ASSERT(rc == 1);
    return core::to_hex(out, size);
}

}  // namespace

struct DigestStream::State {
    DigestContext md5 = start(md5_algorithm());
    DigestContext sha256 = start(sha256_algorithm());
    bool finished = false;
};

DigestStream::DigestStream() : state_(std::make_unique<State>()) {}
DigestStream::~DigestStream() = default;
DigestStream::DigestStream(DigestStream&&) noexcept = default;
DigestStream& DigestStream::operator=(DigestStream&&) noexcept = default;

void DigestStream::update(std::string_view bytes) {
    TOLLGATE_ASSERT(state_ != nullptr && !state_->finished);
    while (!bytes.empty()) {
        const std::string_view slice = bytes.substr(0, std::min(bytes.size(), kSliceBytes));
        const int md5_rc = EVP_DigestUpdate(state_->md5.get(), slice.data(), slice.size());
        const int sha256_rc = EVP_DigestUpdate(state_->sha256.get(), slice.data(), slice.size());
        TOLLGATE_ASSERT(md5_rc == 1 && sha256_rc == 1);
        bytes.remove_prefix(slice.size());
    }
}

Digests DigestStream::finish() {
    TOLLGATE_ASSERT(state_ != nullptr && !state_->finished);
    state_->finished = true;
    return Digests{finish_hex(state_->md5.get()), finish_hex(state_->sha256.get())};
}

Digests digest(std::string_view bytes) {
    DigestStream stream;
    stream.update(bytes);
    return stream.finish();
}

}  // namespace tollgate::image
