#include "http/api/book_source.h"

#include <spdlog/spdlog.h>

#include "core/assert.h"

namespace tollgate::http {

PriceBookSource::PriceBookSource(std::shared_ptr<const pricing::PriceBook> initial, Loader loader,
                                 Check check)
    : loader_(std::move(loader)), check_(std::move(check)), current_(std::move(initial)) {
    TOLLGATE_ASSERT(current_ != nullptr);
}

std::shared_ptr<const pricing::PriceBook> PriceBookSource::current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
}

core::Result<std::shared_ptr<const pricing::PriceBook>> PriceBookSource::reload() {
    std::lock_guard<std::mutex> serial(reload_mu_);
    const std::string old_version = current()->version;
    if (!loader_) {
        return core::make_error("invalid_price_book", "this gateway has no price book file");
    }
    auto candidate = loader_();
    if (!candidate.ok()) {
        spdlog::error("price book reload refused, {} stays in force: {}", old_version,
                      candidate.error().message);
        return candidate.error();
    }
    if (check_) {
        core::Status checked = check_(*candidate);
        if (!checked.ok()) {
            spdlog::error("price book reload refused, {} stays in force: {}", old_version,
                          checked.error().message);
            return checked.error();
        }
    }
    auto next = std::make_shared<const pricing::PriceBook>(std::move(candidate).value());
    {
        std::lock_guard<std::mutex> lock(mu_);
        current_ = next;
    }
    spdlog::info("price book {} replaced {}", next->version, old_version);
    return next;
}

}  // namespace tollgate::http
