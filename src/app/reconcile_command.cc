#include "app/reconcile_command.h"

#include <cstdio>
#include <limits>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "app/usage_export.h"
#include "core/assert.h"
#include "core/local_time.h"
#include "core/time_zone.h"
#include "store/sqlite.h"
#include "usage/redis/redis_usage_sink.h"

namespace tollgate::app {
namespace {

int reconcile_failed(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 2;
}

std::string day_text(std::int64_t day) {
    return core::format_civil_date(core::civil_from_days(day));
}

using Totals = std::vector<usage::DayTotal>;

// Totals per (account, day of the job's finish) from the gateway's file:
// the usage records, and the ledger's captures of jobs.
core::Status read_sql_totals(store::Database& db, std::int64_t from_ms, std::int64_t to_ms,
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

core::Status read_embedded_totals(const StoreLocation& where, std::int64_t from_ms,
                                  std::int64_t to_ms, Totals* records, Totals* captures) {
    store::Database::Options options;
    options.group_commit = false;
    auto db = open_command_database(where, "database", options);
    if (!db.ok()) return db.error();
    return read_sql_totals(**db, from_ms, to_ms, records, captures);
}

// Totals per (account, day) being summed, one job at a time.
class DayTotals {
  public:
    void add(const std::string& account_id, std::int64_t ms, std::int64_t tokens) {
        const std::int64_t day = ms / usage::kMsPerDay;
        usage::DayTotal& t = by_day_[{account_id, day}];
        t.account_id = account_id;
        t.day = day;
        t.tokens += tokens;
        ++t.jobs;
    }
    // By account, then day.
    Totals list() const {
        Totals out;
        out.reserve(by_day_.size());
        for (const auto& [key, total] : by_day_) out.push_back(total);
        return out;
    }

  private:
    std::map<std::pair<std::string, std::int64_t>, usage::DayTotal> by_day_;
};

// One account of the shared store, as read_sql_totals() sums it: its usage
// records, then its capture entries, each dated by its job's record (or, when
// there is none, which would be a fault, by its own time).
core::Status read_account_totals(ledger::Ledger& ledger, usage::UsageSink& usage,
                                 const std::string& account_id, std::int64_t from_ms,
                                 std::int64_t to_ms, DayTotals* records, DayTotals* captures) {
    auto in_range = [&](std::int64_t ms) { return ms >= from_ms && ms < to_ms; };
    auto listed = usage.for_account(account_id);
    if (!listed.ok()) return listed.error();
    std::unordered_map<std::string, std::int64_t> finished_ms;  // by job id
    for (const usage::UsageRecord& r : *listed) {
        finished_ms.emplace(r.job_id, r.finished_ms);
        if (in_range(r.finished_ms)) records->add(account_id, r.finished_ms, r.tokens);
    }
    std::int64_t after_id = 0;
    for (;;) {
        auto page = ledger.entries_page(account_id, std::numeric_limits<std::int64_t>::min(),
                                        std::numeric_limits<std::int64_t>::max(), after_id,
                                        ledger::kEntriesPageMax);
        if (!page.ok()) {
            // An id whose account's creation a crash interrupted: no entries.
            if (page.error().code == "unknown_account") return {};
            return page.error();
        }
        for (const ledger::Entry& e : page->entries) {
            if (e.kind != "capture") continue;
            std::int64_t ms = e.created_ms;
            if (auto known = finished_ms.find(e.hold_key); known != finished_ms.end()) {
                ms = known->second;
            } else {
                // A job that ended after its account's records were read has
                // its record now (one script writes both): counted with its
                // capture. A record of another account only dates the capture.
                auto found = usage.find(e.hold_key);
                if (!found.ok()) return found.error();
                if (found->has_value()) {
                    const usage::UsageRecord& r = **found;
                    ms = r.finished_ms;
                    if (r.account_id == account_id) {
                        finished_ms.emplace(r.job_id, r.finished_ms);
                        if (in_range(ms)) records->add(account_id, ms, r.tokens);
                    }
                }
            }
            if (in_range(ms)) captures->add(account_id, ms, e.tokens.value);
        }
        if (!page->next_after_id) return {};
        after_id = *page->next_after_id;
    }
}

// The same totals from the shared store (Redis), account by account.
core::Status read_shared_totals(const StoreLocation& where, std::int64_t from_ms,
                                std::int64_t to_ms, Totals* records, Totals* captures) {
    auto opened = open_command_ledger(where, "database");
    if (!opened.ok()) return opened.error();
    auto usage = usage::RedisUsageSink::open(*opened->redis, where.prefix);
    if (!usage.ok()) return usage.error();
    DayTotals record_totals, capture_totals;
    std::unordered_set<std::string> seen;
    std::string cursor;
    do {
        auto page = opened->ledger->account_ids(cursor, ledger::kAccountIdsPageMax);
        if (!page.ok()) return page.error();
        for (const std::string& id : page->ids) {
            if (!seen.insert(id).second) continue;  // listed twice (see account_ids())
            core::Status read = read_account_totals(*opened->ledger, **usage, id, from_ms, to_ms,
                                                    &record_totals, &capture_totals);
            if (!read.ok()) return read;
        }
        cursor = std::move(page->next_cursor);
    } while (!cursor.empty());
    *records = record_totals.list();
    *captures = capture_totals.list();
    return {};
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
    if (!from.ok()) return reconcile_failed("--from: " + from.error().message);
    auto to = parse_utc_day(o.to);
    if (!to.ok()) return reconcile_failed("--to: " + to.error().message);
    if (*to <= *from) return reconcile_failed("--to must be after --from");
    const std::int64_t from_ms = *from * usage::kMsPerDay;
    const std::int64_t to_ms = *to * usage::kMsPerDay;

    Totals records, captures;
    core::Status read = o.store.shared()
                            ? read_shared_totals(o.store, from_ms, to_ms, &records, &captures)
                            : read_embedded_totals(o.store, from_ms, to_ms, &records, &captures);
    if (!read.ok()) return reconcile_failed(read.error().message);

    std::vector<std::string> differences =
        compare_day_totals("ledger captured", captures, "usage records charged", records, false);
    int unread = 0;
    for (const std::string& url : o.sinks) {
        auto sink = make_usage_sink(url);
        if (!sink.ok()) return reconcile_failed(sink.error().message);
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
