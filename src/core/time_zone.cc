// TZif parsing, POSIX TZ rule expansion, and civil-date arithmetic.
//
// Approach. A zone is read once into two parallel vectors: the instants at
// which the UTC offset changes and the offset from each instant on. The TZif
// file (RFC 8536) gives the explicit transitions; its footer, a POSIX TZ
// string such as "CET-1CEST,M3.5.0,M10.5.0/3", says how the zone behaves after
// them. The footer is expanded at load into explicit transitions up to the end
// of kTimeZoneYearMax, so every query is one binary search with no allocation
// and no rule evaluation. Transitions that do not change the offset (a new
// abbreviation only) are dropped, so each stored transition really moves the
// wall clock.
//
// Parsing treats the file as hostile: a Reader checks the length before every
// read, every count is bounded before it sizes anything, every type index is
// checked against typecnt, and every offset is bounded (kOffsetAbsMax) so the
// arithmetic in to_unix_s() cannot overflow.
//
// Alternatives rejected:
// - The C library (localtime_r, setenv("TZ")): process-global state, a lock
//   inside glibc, and no way to hold two zones at once.
// - std::chrono::zoned_time: g++ 12's libstdc++ has no tzdb support.
// - Evaluating the footer rule on every query: no allocation either, but a
//   second code path for dates after the table; the expanded table is a few
//   hundred entries (about 8 KiB per zone) and keeps offset_at() trivial.
// - Reading the version-1 (32-bit) data of a v2+ file: it stops in 2038.
//
// Limits: leap-second ("right/") zones are read but their leap records are
// ignored, so their offsets are off by the accumulated leap seconds. A file
// with no transitions but a DST footer is expanded from kFooterYearMin on;
// before that the zone keeps the offset in force just before the first change.
// After kTimeZoneYearMax the last offset holds forever.
#include "core/time_zone.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include "core/assert.h"
#include "core/floor_div.h"

namespace tollgate::core {
namespace {

// RFC 8536 recommends -89999..93599 for utoff; anything beyond 26 hours is
// rejected, which bounds every local/UTC difference in to_unix_s().
constexpr std::int32_t kOffsetAbsMax = 26 * 3600;
// Bounds on a TZif header's counts; real files are far below them.
constexpr std::uint32_t kTimeCountMax = 2000;
constexpr std::uint32_t kTypeCountMax = 256;
constexpr std::uint32_t kCharCountMax = 1024;
constexpr std::uint32_t kLeapCountMax = 1000;
constexpr std::size_t kHeaderBytes = 44;
// A footer rule is expanded from this year when the file has no explicit
// transition after it (including files with no transitions at all).
constexpr int kFooterYearMin = 1900;
// |local seconds| accepted by to_unix_s(); larger values are clamped so that
// local ± kOffsetAbsMax cannot overflow. 2^62 s is about 1.4e11 years.
constexpr std::int64_t kLocalAbsMax = std::int64_t{1} << 62;
// days_from_civil/civil_from_days stay exact (and the year fits an int) within
// this many days of 1970: 5000 eras of 400 years.
constexpr std::int64_t kCivilDaysAbsMax = 146'097LL * 5000;

bool is_leap_year(std::int64_t year) {
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

// The name as it may appear in a message: bytes outside the allowed set become
// '?', so hostile names cannot inject control characters into logs.
std::string printable_name(std::string_view name) {
    std::string out(name.substr(0, kTimeZoneNameBytesMax));
    for (char& c : out) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '+' || c == '-';
        if (!ok) c = '?';
    }
    return out;
}

Error zone_error(std::string_view name, std::string_view what) {
    return make_error("invalid_time_zone", printable_name(name) + ": " + std::string(what));
}

// A big-endian reader that refuses to read past the end.
class Reader {
  public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}

    bool has(std::size_t n) const { return bytes_.size() - pos_ >= n; }
    std::string_view rest() const { return bytes_.substr(pos_); }

    // Callers check has() first; reading past the end is a bug of ours.
    std::uint8_t u8() {
        TOLLGATE_ASSERT(has(1));
        return static_cast<std::uint8_t>(bytes_[pos_++]);
    }
    std::uint32_t be32() {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | u8();
        return v;
    }
    std::uint64_t be64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
        return v;
    }
    void skip(std::size_t n) {
        TOLLGATE_ASSERT(has(n));
        pos_ += n;
    }

  private:
    std::string_view bytes_;
    std::size_t pos_ = 0;
};

struct Header {
    char version = 0;  // '\0' for version 1, else '2', '3', '4'
    std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

    std::size_t data_bytes(std::size_t time_bytes) const {
        return timecnt * time_bytes + timecnt + typecnt * std::size_t{6} + charcnt +
               leapcnt * (time_bytes + 4) + isstdcnt + isutcnt;
    }
};

// The part of one data block that we use.
struct DataBlock {
    std::vector<std::int64_t> times;
    std::vector<std::uint8_t> type_indices;
    std::vector<std::int32_t> type_offsets_s;  // utoff of each time type
};

Result<Header> read_header(Reader& in, std::string_view name) {
    if (!in.has(kHeaderBytes)) return zone_error(name, "truncated header");
    const std::string_view magic = in.rest().substr(0, 4);
    if (magic != "TZif") return zone_error(name, "bad magic (not a TZif file)");
    in.skip(4);
    Header h;
    h.version = static_cast<char>(in.u8());
    if (h.version != '\0' && (h.version < '2' || h.version > '4')) {
        return zone_error(name, "unsupported TZif version");
    }
    in.skip(15);
    h.isutcnt = in.be32();
    h.isstdcnt = in.be32();
    h.leapcnt = in.be32();
    h.timecnt = in.be32();
    h.typecnt = in.be32();
    h.charcnt = in.be32();
    if (h.timecnt > kTimeCountMax || h.typecnt > kTypeCountMax || h.charcnt > kCharCountMax ||
        h.leapcnt > kLeapCountMax || h.isutcnt > kTypeCountMax || h.isstdcnt > kTypeCountMax) {
        return zone_error(name, "header count out of range");
    }
    return h;
}

// Reads one data block whose times are `time_bytes` wide (4 or 8). The
// leap-second records and the std/wall and UT/local indicators are skipped.
Result<DataBlock> read_data_block(Reader& in, const Header& h, std::size_t time_bytes,
                                  std::string_view name) {
    if (h.typecnt == 0 || h.charcnt == 0) return zone_error(name, "no time types");
    if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) ||
        (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
        return zone_error(name, "indicator count differs from typecnt");
    }
    if (!in.has(h.data_bytes(time_bytes))) return zone_error(name, "truncated data block");
    DataBlock block;
    block.times.reserve(h.timecnt);
    for (std::uint32_t i = 0; i < h.timecnt; ++i) {
        const std::int64_t t = time_bytes == 8 ? static_cast<std::int64_t>(in.be64())
                                               : std::int64_t{static_cast<std::int32_t>(in.be32())};
        if (!block.times.empty() && t <= block.times.back()) {
            return zone_error(name, "transition times not strictly ascending");
        }
        block.times.push_back(t);
    }
    block.type_indices.reserve(h.timecnt);
    for (std::uint32_t i = 0; i < h.timecnt; ++i) {
        const std::uint8_t index = in.u8();
        if (index >= h.typecnt) return zone_error(name, "transition type index out of range");
        block.type_indices.push_back(index);
    }
    block.type_offsets_s.reserve(h.typecnt);
    for (std::uint32_t i = 0; i < h.typecnt; ++i) {
        const auto offset_s = static_cast<std::int32_t>(in.be32());
        const std::uint8_t is_dst = in.u8();
        const std::uint8_t abbreviation_index = in.u8();
        if (offset_s < -kOffsetAbsMax || offset_s > kOffsetAbsMax) {
            return zone_error(name, "UTC offset out of range");
        }
        if (is_dst > 1) return zone_error(name, "bad isdst flag");
        if (abbreviation_index >= h.charcnt) return zone_error(name, "abbreviation out of range");
        block.type_offsets_s.push_back(offset_s);
    }
    in.skip(h.charcnt + h.leapcnt * (time_bytes + 4) + h.isstdcnt + h.isutcnt);
    return block;
}

// A POSIX TZ string (the TZif footer), parsed into one rule.
struct RuleDate {
    enum class Kind { JulianNoLeap, ZeroBased, MonthWeekDay };
    Kind kind = Kind::MonthWeekDay;
    int day = 0;  // Jn: 1..365; n: 0..365
    int month = 1, week = 1, weekday = 0;
    std::int32_t time_s = 2 * 3600;  // local time of the change, in the offset before it
};

struct PosixRule {
    std::int32_t std_offset_s = 0;  // east-positive
    bool has_dst = false;
    std::int32_t dst_offset_s = 0;
    RuleDate start, end;  // into DST, out of DST
};

class PosixParser {
  public:
    explicit PosixParser(std::string_view text) : s_(text) {}

    std::optional<PosixRule> parse() {
        PosixRule rule;
        if (!name()) return std::nullopt;
        std::int32_t west_s = 0;
        if (!hms(24, west_s)) return std::nullopt;
        rule.std_offset_s = -west_s;
        if (done()) return rule;
        if (!name()) return std::nullopt;
        rule.has_dst = true;
        rule.dst_offset_s = rule.std_offset_s + 3600;
        if (!at(',')) {
            if (!hms(24, west_s)) return std::nullopt;
            rule.dst_offset_s = -west_s;
        }
        // A DST zone without a rule would need an implementation-defined
        // default; zic never writes one, so it is rejected.
        if (!eat(',') || !date(rule.start) || !eat(',') || !date(rule.end)) return std::nullopt;
        if (!done()) return std::nullopt;
        return rule;
    }

  private:
    bool done() const { return pos_ == s_.size(); }
    bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
    bool eat(char c) {
        if (!at(c)) return false;
        ++pos_;
        return true;
    }
    static bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    // An abbreviation: three or more letters, or <...> holding three or more
    // letters, digits, '+' or '-'.
    bool name() {
        const std::size_t begin = pos_;
        if (eat('<')) {
            while (pos_ < s_.size() && (is_alpha(s_[pos_]) || is_digit(s_[pos_]) ||
                                        s_[pos_] == '+' || s_[pos_] == '-')) {
                ++pos_;
            }
            const std::size_t length = pos_ - begin - 1;
            return eat('>') && length >= 3;
        }
        while (pos_ < s_.size() && is_alpha(s_[pos_])) ++pos_;
        return pos_ - begin >= 3;
    }

    // Between `digits_min` and `digits_max` decimal digits, not followed by
    // another digit.
    bool number(int digits_min, int digits_max, int& value) {
        value = 0;
        int digits = 0;
        while (digits < digits_max && pos_ < s_.size() && is_digit(s_[pos_])) {
            value = value * 10 + (s_[pos_++] - '0');
            ++digits;
        }
        return digits >= digits_min && !(pos_ < s_.size() && is_digit(s_[pos_]));
    }

    // [+-]hh[:mm[:ss]] with hh <= hours_max, as signed seconds.
    bool hms(int hours_max, std::int32_t& seconds) {
        const bool negative = at('-');
        if (at('+') || at('-')) ++pos_;
        int hours = 0, minutes = 0, secs = 0;
        if (!number(1, 3, hours) || hours > hours_max) return false;
        if (eat(':')) {
            if (!number(2, 2, minutes) || minutes > 59) return false;
            if (eat(':') && (!number(2, 2, secs) || secs > 59)) return false;
        }
        seconds = hours * 3600 + minutes * 60 + secs;
        if (negative) seconds = -seconds;
        return true;
    }

    // Jn, n or Mm.w.d, then an optional /time (RFC 8536 allows -167..167 h).
    bool date(RuleDate& d) {
        if (eat('J')) {
            d.kind = RuleDate::Kind::JulianNoLeap;
            if (!number(1, 3, d.day) || d.day < 1 || d.day > 365) return false;
        } else if (eat('M')) {
            d.kind = RuleDate::Kind::MonthWeekDay;
            if (!number(1, 2, d.month) || d.month < 1 || d.month > 12) return false;
            if (!eat('.') || !number(1, 1, d.week) || d.week < 1 || d.week > 5) return false;
            if (!eat('.') || !number(1, 1, d.weekday) || d.weekday > 6) return false;
        } else {
            d.kind = RuleDate::Kind::ZeroBased;
            if (!number(1, 3, d.day) || d.day > 365) return false;
        }
        if (eat('/')) return hms(167, d.time_s);
        return true;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

// Days since 1970-01-01 of the local date a rule names in `year`.
std::int64_t rule_days(const RuleDate& d, int year) {
    const std::int64_t jan1 = days_from_civil(CivilDate{year, 1, 1});
    switch (d.kind) {
        case RuleDate::Kind::JulianNoLeap:
            // Jn never counts February 29: J60 is always March 1.
            return jan1 + (d.day - 1) + (is_leap_year(year) && d.day >= 60 ? 1 : 0);
        case RuleDate::Kind::ZeroBased:
            return jan1 + d.day;
        case RuleDate::Kind::MonthWeekDay: {
            const std::int64_t first = days_from_civil(CivilDate{year, d.month, 1});
            const int first_weekday = weekday_from_days(first);
            std::int64_t day = first + (d.weekday - first_weekday + 7) % 7 + 7 * (d.week - 1);
            // Week 5 means "the last such weekday of the month".
            if (day >= first + days_in_month(year, d.month)) day -= 7;
            return day;
        }
    }
    TOLLGATE_ASSERT(false);
    return 0;
}

struct Change {
    std::int64_t at_s = 0;
    std::int32_t offset_s = 0;
};

// Every change the rule makes from `year_first` through kTimeZoneYearMax, in
// time order. Changes at the same instant keep their generation order (later
// years last), so that a permanent-DST rule such as "EST5EDT,0/0,J365/25",
// whose end of one year meets the start of the next, resolves to DST.
std::vector<Change> rule_changes(const PosixRule& rule, int year_first) {
    std::vector<Change> changes;
    if (!rule.has_dst) return changes;
    changes.reserve(2 * static_cast<std::size_t>(kTimeZoneYearMax - year_first + 1));
    for (int year = year_first; year <= kTimeZoneYearMax; ++year) {
        const std::int64_t start =
            rule_days(rule.start, year) * kSecondsPerDay + rule.start.time_s - rule.std_offset_s;
        const std::int64_t end =
            rule_days(rule.end, year) * kSecondsPerDay + rule.end.time_s - rule.dst_offset_s;
        changes.push_back(Change{start, rule.dst_offset_s});
        changes.push_back(Change{end, rule.std_offset_s});
    }
    std::stable_sort(changes.begin(), changes.end(),
                     [](const Change& a, const Change& b) { return a.at_s < b.at_s; });
    return changes;
}

// The year from which the footer is expanded: the year before the last
// explicit transition (a rule's changes stray a few days outside their year),
// clamped to [kFooterYearMin, kTimeZoneYearMax + 1].
int footer_year_first(const std::vector<std::int64_t>& times) {
    if (times.empty()) return kFooterYearMin;
    const std::int64_t min_s = days_from_civil(CivilDate{kFooterYearMin, 1, 1}) * kSecondsPerDay;
    const std::int64_t max_s =
        days_from_civil(CivilDate{kTimeZoneYearMax + 1, 1, 1}) * kSecondsPerDay;
    const std::int64_t last = times.back();
    if (last < min_s) return kFooterYearMin;
    if (last >= max_s) return kTimeZoneYearMax + 1;
    return std::max(kFooterYearMin, civil_from_days(floor_div(last, kSecondsPerDay)).year - 1);
}

struct Table {
    std::int32_t initial_offset_s = 0;
    std::vector<std::int64_t> transitions;
    std::vector<std::int32_t> offsets_s;
};

// Turns the explicit transitions and the footer rule into one table of
// offset changes, dropping transitions that leave the offset unchanged.
Table build_table(const DataBlock& block, const PosixRule* rule) {
    Table table;
    // RFC 8536: before the first transition, time type 0 applies.
    table.initial_offset_s = block.type_offsets_s[0];
    std::vector<Change> footer;
    if (rule != nullptr) footer = rule_changes(*rule, footer_year_first(block.times));
    if (rule != nullptr && block.times.empty()) {
        // With no transitions the footer governs all time: before its first
        // expanded change the zone is in the other state (or just standard).
        const bool first_is_std = !footer.empty() && footer.front().offset_s == rule->std_offset_s;
        table.initial_offset_s = first_is_std ? rule->dst_offset_s : rule->std_offset_s;
    }
    std::int32_t current = table.initial_offset_s;
    const auto add = [&](std::int64_t at_s, std::int32_t offset_s) {
        if (offset_s == current) return;
        table.transitions.push_back(at_s);
        table.offsets_s.push_back(offset_s);
        current = offset_s;
    };
    for (std::size_t i = 0; i < block.times.size(); ++i) {
        add(block.times[i], block.type_offsets_s[block.type_indices[i]]);
    }
    const std::int64_t after_s =
        block.times.empty() ? std::numeric_limits<std::int64_t>::min() : block.times.back();
    const std::int64_t limit_s =
        days_from_civil(CivilDate{kTimeZoneYearMax + 1, 1, 1}) * kSecondsPerDay;
    for (std::size_t i = 0; i < footer.size(); ++i) {
        // Of several changes at one instant, the last generated wins.
        if (i + 1 < footer.size() && footer[i + 1].at_s == footer[i].at_s) continue;
        if (footer[i].at_s <= after_s || footer[i].at_s >= limit_s) continue;
        add(footer[i].at_s, footer[i].offset_s);
    }
    TOLLGATE_ASSERT(table.transitions.size() == table.offsets_s.size());
    TOLLGATE_ASSERT(std::is_sorted(table.transitions.begin(), table.transitions.end()) &&
                    std::adjacent_find(table.transitions.begin(), table.transitions.end()) ==
                        table.transitions.end());
    return table;
}

}  // namespace

// Civil dates. Both directions count years from March 1, so that the leap day
// is the last day of the counted year and the month lengths from March on
// follow a fixed 153-days-per-5-months pattern; a 400-year era always holds
// 146097 days, which reduces any date to an era and a day within it.

std::int64_t days_from_civil(CivilDate date) {
    TOLLGATE_ASSERT(date.month >= 1 && date.month <= 12);
    TOLLGATE_ASSERT(date.day >= 1 && date.day <= days_in_month(date.year, date.month));
    const std::int64_t year = std::int64_t{date.year} - (date.month <= 2 ? 1 : 0);
    const std::int64_t era = floor_div(year, 400);
    const std::int64_t year_of_era = year - era * 400;                                 // 0..399
    const std::int64_t month_from_march = (date.month + 9) % 12;                       // March = 0
    const std::int64_t day_of_year = (153 * month_from_march + 2) / 5 + date.day - 1;  // 0..365
    const std::int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // 0..146096
    // 719468 days separate 0000-03-01 (day 0 of era 0) from 1970-01-01.
    return era * 146'097 + day_of_era - 719'468;
}

CivilDate civil_from_days(std::int64_t days) {
    TOLLGATE_ASSERT(days >= -kCivilDaysAbsMax && days <= kCivilDaysAbsMax);
    const std::int64_t shifted = days + 719'468;
    const std::int64_t era = floor_div(shifted, 146'097);
    const std::int64_t day_of_era = shifted - era * 146'097;  // 0..146096
    // Remove the leap days before this day of the era (one per 4 years, none
    // per 100, one per 400) to count whole 365-day years.
    const std::int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
    const std::int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const std::int64_t month_from_march = (5 * day_of_year + 2) / 153;
    const auto day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    const auto month =
        static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    const std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
    return CivilDate{static_cast<int>(year), month, day};
}

int weekday_from_days(std::int64_t days) {
    // 1970-01-01 was a Thursday (4).
    return static_cast<int>((days % 7 + 11) % 7);
}

int days_in_month(int year, int month) {
    TOLLGATE_ASSERT(month >= 1 && month <= 12);
    static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && is_leap_year(year)) return 29;
    return kDays[month - 1];
}

std::string format_civil_date(CivilDate date) {
    // Four-digit years (0..9999) are the supported range; others are printed
    // with as many digits as they need rather than truncated.
    std::string out = date.year < 0 ? "-" : "";
    const std::string year = std::to_string(date.year < 0 ? -std::int64_t{date.year} : date.year);
    out.append(year.size() < 4 ? 4 - year.size() : 0, '0').append(year);
    const auto two = [&out](int v) {
        out.push_back('-');
        out.push_back(static_cast<char>('0' + (v / 10) % 10));
        out.push_back(static_cast<char>('0' + v % 10));
    };
    two(date.month);
    two(date.day);
    return out;
}

TimeZone TimeZone::utc() {
    TimeZone zone;
    zone.name_ = "UTC";
    return zone;
}

namespace {

// Whether `name` is a relative path of [A-Za-z0-9/_+-] without empty, "." or
// ".." segments (the character set already excludes '.').
bool is_valid_zone_name(std::string_view name) {
    if (name.empty() || name.size() > kTimeZoneNameBytesMax) return false;
    if (printable_name(name) != name) return false;
    if (name.front() == '/' || name.back() == '/') return false;
    return name.find("//") == std::string_view::npos;
}

// Reads at most kTimeZoneFileBytesMax + 1 bytes of a regular file, so that an
// oversized file is noticed without reading it whole.
Result<std::string> read_zone_file(const std::string& path, std::string_view name) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return zone_error(name, errno == ENOENT
                                    ? "no such zone"
                                    : "cannot open: " + std::generic_category().message(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return zone_error(name, "not a regular file");
    }
    std::string bytes(kTimeZoneFileBytesMax + 1, '\0');
    std::size_t size = 0;
    while (size < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + size, bytes.size() - size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            return zone_error(name, "read failed: " + std::generic_category().message(error));
        }
        if (n == 0) break;
        size += static_cast<std::size_t>(n);
    }
    ::close(fd);
    bytes.resize(size);
    return bytes;
}

}  // namespace

Result<TimeZone> TimeZone::load(std::string_view name, const std::string& zoneinfo_dir) {
    if (!is_valid_zone_name(name)) return zone_error(name, "invalid zone name");
    Result<std::string> bytes = read_zone_file(zoneinfo_dir + "/" + std::string(name), name);
    if (!bytes.ok()) {
        // UTC needs no data; a system without tzdata can still use it.
        if (name == "UTC") return utc();
        return bytes.error();
    }
    return from_tzif(name, *bytes);
}

Result<TimeZone> TimeZone::from_tzif(std::string_view name, std::string_view bytes) {
    if (bytes.size() > kTimeZoneFileBytesMax) return zone_error(name, "file too large");
    Reader in(bytes);
    Result<Header> header = read_header(in, name);
    if (!header.ok()) return header.error();
    std::size_t time_bytes = 4;
    if (header->version != '\0') {
        // Skip the version-1 block; its 32-bit times stop in 2038.
        if (!in.has(header->data_bytes(4))) return zone_error(name, "truncated v1 data block");
        in.skip(header->data_bytes(4));
        const char version = header->version;
        header = read_header(in, name);
        if (!header.ok()) return header.error();
        if (header->version != version) return zone_error(name, "second header version differs");
        time_bytes = 8;
    }
    Result<DataBlock> block = read_data_block(in, *header, time_bytes, name);
    if (!block.ok()) return block.error();

    std::optional<PosixRule> rule;
    if (header->version != '\0') {
        // The footer is "\n" TZ-string "\n"; an empty string means no rule.
        const std::string_view rest = in.rest();
        const std::size_t close = rest.empty() ? std::string_view::npos : rest.find('\n', 1);
        if (rest.empty() || rest[0] != '\n' || close == std::string_view::npos) {
            return zone_error(name, "missing footer");
        }
        const std::string_view footer = rest.substr(1, close - 1);
        if (!footer.empty()) {
            rule = PosixParser(footer).parse();
            if (!rule) return zone_error(name, "bad footer TZ string");
            // hms() caps offsets at 24:59:59, so even the default DST offset
            // (one hour more) stays within kOffsetAbsMax.
            TOLLGATE_ASSERT(std::abs(rule->std_offset_s) <= kOffsetAbsMax);
            TOLLGATE_ASSERT(std::abs(rule->dst_offset_s) <= kOffsetAbsMax);
        }
    }
    Table table = build_table(*block, rule ? &*rule : nullptr);
    TimeZone zone;
    zone.name_ = std::string(name);
    zone.initial_offset_s_ = table.initial_offset_s;
    zone.transitions_ = std::move(table.transitions);
    zone.offsets_s_ = std::move(table.offsets_s);
    return zone;
}

std::int32_t TimeZone::offset_at(std::int64_t unix_s) const {
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), unix_s);
    if (it == transitions_.begin()) return initial_offset_s_;
    return offsets_s_[static_cast<std::size_t>(it - transitions_.begin()) - 1];
}

// The wall clock reads local = unix + offset(unix), and offsets are bounded by
// kOffsetAbsMax, so every instant showing `local_s` lies within kOffsetAbsMax
// of it. The offset is constant on each "piece" between two transitions, so
// each piece meeting that window gives one candidate, unix = local - offset,
// valid if it falls inside its own piece. Pieces are visited in time order,
// so the first valid candidate is the earliest (the overlap rule). With no
// valid candidate the local time is in a gap, which lies at one of the
// transitions in the window.
std::int64_t TimeZone::to_unix_s(std::int64_t local_s) const {
    const std::int64_t local = std::clamp(local_s, -kLocalAbsMax, kLocalAbsMax);
    const auto begin = transitions_.begin();
    // Piece k runs from transition k-1 (or the beginning of time) to
    // transition k (or the end of time).
    const auto piece_at = [&](std::int64_t unix_s) {
        return static_cast<std::size_t>(std::upper_bound(begin, transitions_.end(), unix_s) -
                                        begin);
    };
    const auto piece_offset = [&](std::size_t k) {
        return k == 0 ? initial_offset_s_ : offsets_s_[k - 1];
    };
    const std::size_t first = piece_at(local - kOffsetAbsMax);
    const std::size_t last = piece_at(local + kOffsetAbsMax);
    for (std::size_t k = first; k <= last; ++k) {
        const std::int64_t candidate = local - piece_offset(k);
        const bool after_start = k == 0 || candidate >= transitions_[k - 1];
        const bool before_end = k == transitions_.size() || candidate < transitions_[k];
        if (after_start && before_end) return candidate;
    }
    // A gap at transition k-1: the wall clock jumps from t + before to
    // t + after, skipping `local`, which is read with the offset before.
    for (std::size_t k = first + 1; k <= last; ++k) {
        const std::int64_t t = transitions_[k - 1];
        const std::int32_t before = piece_offset(k - 1);
        if (t + before <= local && local < t + piece_offset(k)) return local - before;
    }
    // Unreachable: a local time that no instant shows lies in a gap at a
    // transition within kOffsetAbsMax of it.
    TOLLGATE_ASSERT(false);
    return local - offset_at(local);
}

}  // namespace tollgate::core
