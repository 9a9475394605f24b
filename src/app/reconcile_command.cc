#include "app/reconcile_command.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>

#include "app/usage_export.h"
#include "core/assert.h"
#include "core/local_time.h"
#include "core/time_zone.h"
#include "store/sqlite.h"

namespace tollgate::app {
namespace {

int fail(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 2;
}

std::string day_text(std::int64_t day) {
    return core::format_civil_date(core::civil_from_days(day));
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
    // A date alone: parse_local_time_ms() also takes a time of day.
    auto ms = text.size() == 10 ? core::parse_local_time_ms(text, core::TimeZone::utc())
                                : core::make_error("invalid_time", "");
    if (!ms.ok()) {
        return core::make_error("invalid_date", "\"" + text + "\" is not a date YYYY-MM-DD");
    }
    TOLLGATE_ASSERT(*ms % usage::kMsPerDay == 0);
    return *ms / usage::kMsPerDay;
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
