#include "core/local_time.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "core/floor_div.h"
#include "core/redact.h"

namespace tollgate::core {
namespace {

bool read_number(std::string_view text, std::size_t pos, std::size_t len, int lo, int hi,
                 int* out) {
    if (pos + len > text.size()) return false;
    const char* begin = text.data() + pos;
    auto [ptr, ec] = std::from_chars(begin, begin + len, *out);
    return ec == std::errc() && ptr == begin + len && *out >= lo && *out <= hi;
}

}  // namespace

Result<std::int64_t> parse_local_time_ms(std::string_view text, const TimeZone& zone) {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    const bool date_only = text.size() == 10;
    const bool shape = (date_only || text.size() == 16 || text.size() == 19) && text[4] == '-' &&
                       text[7] == '-' &&
                       (date_only || ((text[10] == ' ' || text[10] == 'T') && text[13] == ':' &&
                                      (text.size() == 16 || text[16] == ':')));
    const bool valid =
        shape && read_number(text, 0, 4, 1970, 9999, &year) &&
        read_number(text, 5, 2, 1, 12, &month) &&
        read_number(text, 8, 2, 1, days_in_month(year, month), &day) &&
        (date_only ||
         (read_number(text, 11, 2, 0, 23, &hour) && read_number(text, 14, 2, 0, 59, &minute) &&
          (text.size() == 16 || read_number(text, 17, 2, 0, 59, &second))));
    if (!valid) {
        return make_error("invalid_time", "time " + quote_input(text) +
                                              " must look like 2026-11-28 or 2026-11-28 19:30");
    }
    const std::int64_t local_s =
        days_from_civil({year, month, day}) * 86'400 + hour * 3600 + minute * 60 + second;
    return zone.to_unix_s(local_s) * 1000;
}

std::string format_local_time(std::int64_t unix_ms, const TimeZone& zone) {
    const std::int64_t unix_s = floor_div(unix_ms, 1000);
    const std::int32_t offset = zone.offset_at(unix_s);
    const std::int64_t local_s = unix_s + offset;
    const std::int64_t days = floor_div(local_s, 86'400);
    const std::int64_t second_of_day = local_s - days * 86'400;
    const CivilDate date = civil_from_days(days);
    const int off_minutes = std::abs(offset) / 60;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", date.year,
                  date.month, date.day, static_cast<int>(second_of_day / 3600),
                  static_cast<int>(second_of_day / 60 % 60), static_cast<int>(second_of_day % 60),
                  offset < 0 ? '-' : '+', off_minutes / 60, off_minutes % 60);
    return buf;
}

}  // namespace tollgate::core
