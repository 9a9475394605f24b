// The id of the request a thread is serving, for log lines and the
// X-Request-Id response header. A client may send its own (a proxy's), or
// the gateway makes one; either way every log line written while the
// request is handled carries it.
#pragma once

#include <string>
#include <string_view>

namespace tollgate::core {

inline constexpr std::size_t kRequestIdBytesMax = 64;

// "req_" and 16 random hex digits.
std::string make_request_id();
// 1..kRequestIdBytesMax of [A-Za-z0-9._-]: what a client's id must be to be kept.
bool valid_request_id(std::string_view id);
// The calling thread's request id; "" outside a request.
std::string_view current_request_id();

// Sets the calling thread's request id for its lifetime, then restores the previous one.
class RequestIdScope {
  public:
    explicit RequestIdScope(std::string id);
    ~RequestIdScope();
    RequestIdScope(const RequestIdScope&) = delete;
    RequestIdScope& operator=(const RequestIdScope&) = delete;

  private:
    std::string previous_;
};

}  // namespace tollgate::core
