// JSON log lines (see json_log.h).
#include "app/json_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include "core/request_id.h"

namespace tollgate::app {
namespace {

// Appends `text` as a JSON string: quotes, backslashes and control bytes
// escaped; other bytes (UTF-8 included) as they are.
void append_string(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.push_back('"');
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            dest.push_back('\\');
            dest.push_back(c);
        } else if (c == '\n') {
            dest.append(std::string_view("\\n"));
        } else if (u < 0x20 || u == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", u);
            dest.append(std::string_view(esc));
        } else {
            dest.push_back(c);
        }
    }
    dest.push_back('"');
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    const auto since_epoch = msg.time.time_since_epoch();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
    const std::time_t seconds = std::chrono::system_clock::to_time_t(msg.time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char ts[96];  // room for any int the compiler cannot rule out
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(ms));
    dest.append(std::string_view("{\"ts\":\""));
    dest.append(std::string_view(ts));
    dest.append(std::string_view("\",\"level\":"));
    const auto level = spdlog::level::to_string_view(msg.level);
    append_string(dest, std::string_view(level.data(), level.size()));
    dest.append(std::string_view(",\"msg\":"));
    append_string(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    if (const std::string_view id = core::current_request_id(); !id.empty()) {
        dest.append(std::string_view(",\"request_id\":"));
        append_string(dest, id);
    }
    dest.append(std::string_view("}\n"));
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
    return std::make_unique<JsonLogFormatter>();
}

}  // namespace tollgate::app
