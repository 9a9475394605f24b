// Digests of uploaded images: MD5 (the seed's duplicate-upload key) and
// SHA-256 (a collision-resistant identity), computed in one pass.
//
// DigestStream owns two OpenSSL 3 EVP contexts. Key invariant: finish() is
// called at most once, and update() never after it; both are programmer
// errors that assert. One DigestStream belongs to one thread at a time; the
// EVP_MD algorithms behind it are fetched once per process and shared.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace tollgate::image {

struct Digests {
    std::string md5_hex;     // 32 lowercase hex characters
    std::string sha256_hex;  // 64 lowercase hex characters
};

class DigestStream {
  public:
    DigestStream();
    ~DigestStream();
    DigestStream(DigestStream&&) noexcept;
    DigestStream& operator=(DigestStream&&) noexcept;
    DigestStream(const DigestStream&) = delete;
    DigestStream& operator=(const DigestStream&) = delete;

    // Feeds the next bytes of the upload to both digests.
    void update(std::string_view bytes);
    // The digests of everything fed so far. Ends the stream.
    Digests finish();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// Both digests of `bytes` at once.
Digests digest(std::string_view bytes);

}  // namespace tollgate::image
