// A ResponseStream that keeps what it was sent, for tests of event streams.
#pragma once

#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "http/server/server.h"

namespace tollgate::http::testing_support {

class RecordingStream final : public ResponseStream {
  public:
    bool send(std::string bytes) override {
        std::lock_guard lock(mu_);
        if (!open_) return false;
        sent_ += bytes;
        return true;
    }
    void close() override {
        std::lock_guard lock(mu_);
        open_ = false;
    }
    bool is_open() const override {
        std::lock_guard lock(mu_);
        return open_;
    }
    std::string sent() const {
        std::lock_guard lock(mu_);
        return sent_;
    }
    // The whole messages sent so far, as (event, data).
    std::vector<std::pair<std::string, nlohmann::json>> events() const {
        const std::string all = sent();
        std::vector<std::pair<std::string, nlohmann::json>> out;
        std::size_t at = 0;
        for (;;) {
            const std::size_t end = all.find("\n\n", at);
            if (end == std::string::npos) return out;
            const std::string message = all.substr(at, end - at);
            const std::size_t data = message.find("\ndata: ");
            out.emplace_back(message.substr(7, data - 7),
                             nlohmann::json::parse(message.substr(data + 7)));
            at = end + 2;
        }
    }

  private:
    mutable std::mutex mu_;
    bool open_ = true;
    std::string sent_;
};

}  // namespace tollgate::http::testing_support
