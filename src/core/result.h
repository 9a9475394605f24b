// Result<T> and Status: how operating errors travel between parts.
//
// The shape mirrors std::expected (C++23, which g++ 12 lacks under C++20). An
// Error carries a stable machine code (snake_case, part of the public contract
// when it reaches HTTP) and a human message. Exceptions never cross a part's
// interface; adapters around third-party libraries convert them to Error.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "core/assert.h"

namespace tollgate::core {

struct Error {
    std::string code;
    std::string message;
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        TOLLGATE_ASSERT(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        TOLLGATE_ASSERT(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        TOLLGATE_ASSERT(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        TOLLGATE_ASSERT(!ok());
        return std::get<1>(v_);
    }

  private:
    std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

    bool ok() const { return !error_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const {
        TOLLGATE_ASSERT(!ok());
        return *error_;
    }

  private:
    std::optional<Error> error_;
};

inline Error make_error(std::string code, std::string message) {
    return Error{std::move(code), std::move(message)};
}

}  // namespace tollgate::core
