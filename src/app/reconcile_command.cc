#include "app/reconcile_command.h"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>

#include "app/usage_export.h"
#include "core/assert.h"
#include "store/sqlite.h"

namespace tollgate::app {
namespace {

int fail(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 2;
}

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146'097 + doe - 719'468;
}

std::string day_text(std::int64_t day) {
    // Inverse of days_from_civil.
    std::int64_t z = day + 719'468;
    const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
    const std::int64_t doe = z - era * 146'097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                  static_cast<long long>(m), static_cast<long long>(d));
    return buf;
}

using Totals = std::vector<usage::DayTotal>;

// Totals per (account, day of the job's finish) from the gateway's file:
// the usage records, and the ledger's captures of jobs.
core::Status read_local_totals(store::Database& db, std::int64_t from_ms, std::int64_t to_ms,
                               Totals* records, Totals* captures) {
    return store::transact(db, [&]() -> core::Status {
        auto read = [&](const char* sql, Totals* out) {
            store::Statement st(db, sql);
            st.bind(1, from_ms).bind(2, to_ms);
            while (st.step()) {
                out->push_back(usage::DayTotal{st.column_text(0), st.column_int64(1),
                                               st.column_int64(2), st.column_int64(3)});
            }
        };
        read(
            "SELECT account_id, finished_ms / 86400000 AS day, sum(tokens), count(*) "
            "FROM usage_records WHERE finished_ms >= ?1 AND finished_ms < ?2 "
            "GROUP BY account_id, day ORDER BY account_id, day",
            records);
        // A capture is dated by its job's finish, as its record is; a capture
        // with no record (which would be a fault) by its own time.
        read(
            "SELECT e.account_id, coalesce(u.finished_ms, e.created_ms) / 86400000 AS day, "
            "sum(e.tokens), count(*) FROM entries e "
            "LEFT JOIN usage_records u ON u.job_id = e.hold_key "
            "WHERE e.kind = 'capture' AND coalesce(u.finished_ms, e.created_ms) >= ?1 "
            "AND coalesce(u.finished_ms, e.created_ms) < ?2 "
            "GROUP BY e.account_id, day ORDER BY e.account_id, day",
            captures);
        return {};
    });
}

}  // namespace

core::Result<std::int64_t> parse_utc_day(const std::string& text) {
    auto invalid = [&] {
        return core::make_error("invalid_date", "\"" + text + "\" is not a date YYYY-MM-DD");
    };
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return invalid();
    std::int64_t parts[3] = {};
    const std::pair<int, int> spans[3] = {{0, 4}, {5, 2}, {8, 2}};
    for (int i = 0; i < 3; ++i) {
        const char* begin = text.data() + spans[i].first;
        const char* end = begin + spans[i].second;
        auto [ptr, ec] = std::from_chars(begin, end, parts[i]);
        if (ec != std::errc() || ptr != end) return invalid();
    }
    const std::int64_t y = parts[0], m = parts[1], d = parts[2];
    if (y < 1970 || m < 1 || m > 12 || d < 1) return invalid();
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return invalid();
    return days_from_civil(y, m, d);
}

std::vector<std::string> compare_day_totals(const std::string& left_name, const Totals& left,
                                            const std::string& right_name, const Totals& right,
                                            bool compare_jobs) {
    std::map<std::pair<std::string, std::int64_t>, std::pair<usage::DayTotal, usage::DayTotal>>
        joined;
    for (const usage::DayTotal& t : left) joined[{t.account_id, t.day}].first = t;
    for (const usage::DayTotal& t : right) joined[{t.account_id, t.day}].second = t;
    std::vector<std::string> out;
    for (const auto& [key, pair] : joined) {
        const auto& [l, r] = pair;
        const bool tokens_differ = l.tokens != r.tokens;
        const bool jobs_differ = compare_jobs && l.jobs != r.jobs;
        if (!tokens_differ && !jobs_differ) continue;
        std::string line = day_text(key.second) + " " + key.first + ": " + left_name + " " +
                           std::to_string(l.tokens) + " tokens";
        if (compare_jobs) line += " in " + std::to_string(l.jobs) + " jobs";
        line += ", " + right_name + " " + std::to_string(r.tokens) + " tokens";
        if (compare_jobs) line += " in " + std::to_string(r.jobs) + " jobs";
        out.push_back(std::move(line));
    }
    return out;
}

int run_reconcile(const ReconcileOptions& o) {
    auto from = parse_utc_day(o.from);
    if (!from.ok()) return fail("--from: " + from.error().message);
    auto to = parse_utc_day(o.to);
    if (!to.ok()) return fail("--to: " + to.error().message);
    if (*to <= *from) return fail("--to must be after --from");
    const std::int64_t from_ms = *from * usage::kMsPerDay;
    const std::int64_t to_ms = *to * usage::kMsPerDay;

    const std::string path = (std::filesystem::path(o.data_dir) / "tollgate.db").string();
    if (!std::filesystem::exists(path)) return fail("no database at " + path);
    store::Database::Options db_options;
    db_options.group_commit = false;
    auto db = store::Database::open(path, db_options);
    if (!db.ok()) return fail(db.error().message);
    Totals records, captures;
    if (auto s = read_local_totals(**db, from_ms, to_ms, &records, &captures); !s.ok()) {
        return fail(s.error().message);
    }

    std::vector<std::string> differences =
        compare_day_totals("ledger captured", captures, "usage records charged", records, false);
    int unread = 0;
    for (const std::string& url : o.sinks) {
        auto sink = make_usage_sink(url);
        if (!sink.ok()) return fail(sink.error().message);
        auto totals = (*sink)->day_totals(from_ms, to_ms);
        if (!totals.ok()) {
            std::fprintf(stderr, "tollgate: %s: %s\n", (*sink)->name().c_str(),
                         totals.error().message.c_str());
            ++unread;
            continue;
        }
        for (std::string& line :
             compare_day_totals("usage records", records, (*sink)->name(), *totals, true)) {
            differences.push_back(std::move(line));
        }
    }
    for (const std::string& line : differences) std::printf("%s\n", line.c_str());
    std::printf("%zu difference%s from %s to %s (%zu accounts and days, %zu sinks%s)\n",
                differences.size(), differences.size() == 1 ? "" : "s", o.from.c_str(),
                o.to.c_str(), records.size(), o.sinks.size(),
                unread > 0 ? ", some unreadable" : "");
    if (unread > 0) return 2;
    return differences.empty() ? 0 : 1;
}

}  // namespace tollgate::app
