// Log lines as JSON objects, one per line ([server] log_format = "json"), for
// log shippers: {"ts", "level", "msg"} and "request_id" when the line was
// written while a request was handled (core/request_id.h).
#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace tollgate::app {

class JsonLogFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace tollgate::app
