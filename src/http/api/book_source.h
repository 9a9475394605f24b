// The price book in force, and its replacement on reload.
//
// Readers take a shared_ptr to the current book and keep it for as long as
// they use anything from it (a Quote points into its book), so a reload never
// pulls a book from under a request: the old one lives until its last reader
// lets go. reload() loads and checks a candidate and swaps it in only when
// both succeed; an invalid book never replaces a valid one, and the error is
// returned (and logged) while the old book stays in force.
//
// Threads: current() and reload() may be called from any thread; reloads are
// serialised.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "core/result.h"
#include "pricing/price_book.h"

namespace tollgate::http {

class PriceBookSource {
  public:
    using Loader = std::function<core::Result<pricing::PriceBook>()>;
    // Cross-checks a candidate against the rest of the configuration (for
    // example that every priced workflow has a template). May be empty.
    using Check = std::function<core::Status(const pricing::PriceBook&)>;

    PriceBookSource(std::shared_ptr<const pricing::PriceBook> initial, Loader loader, Check check);

    std::shared_ptr<const pricing::PriceBook> current() const;

    // The book now in force: the new one on success. On failure the error
    // ("invalid_price_book") and the old book stays.
    core::Result<std::shared_ptr<const pricing::PriceBook>> reload();

  private:
    Loader loader_;
    Check check_;
    std::mutex reload_mu_;  // one reload at a time
    mutable std::mutex mu_;
    std::shared_ptr<const pricing::PriceBook> current_;
};

}  // namespace tollgate::http
