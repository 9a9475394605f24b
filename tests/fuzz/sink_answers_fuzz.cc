// Fuzz target: what the usage export reads from outside. The first line is a
// sink URL as an operator writes it in [usage] export_to (parse_sink_url,
// parse_clickhouse_url, redact_password); the rest is a ClickHouse server's
// answer to the totals query (TabSeparated), read by
// ClickHouseSink::day_totals() and as a report's rows (parse_tab_separated,
// SqlReportSource), and also a record's failure reason written as a
// JSONEachRow line by clickhouse_row().
//
// Checks: a parsed URL's name holds no password and fits its bound; a
// ClickHouse address has a host, a port and a database of [A-Za-z0-9_]; the
// totals are a list or a sink_error, never a crash; a row is one line of
// printable JSON framing whatever bytes it carries.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/assert.h"
#include "fuzz/fuzz_input.h"
#include "usage/export/clickhouse_sink.h"
#include "usage/export/outbox.h"
#include "usage/export/sink_url.h"

namespace {

using namespace tollgate;

constexpr std::size_t kInputBytesMax = 64 * 1024;

void check_url(std::string_view text) {
    const std::string redacted = usage::redact_password(text);
    TOLLGATE_ASSERT(redacted.size() <= text.size());
    auto url = usage::parse_sink_url(text);
    if (!url.ok()) {
        TOLLGATE_ASSERT(url.error().code == "invalid_sink_url");
        return;
    }
    TOLLGATE_ASSERT(url->name == redacted);
    TOLLGATE_ASSERT(url->name.size() <= usage::kSinkNameBytesMax);
    if (url->kind != usage::SinkKind::ClickHouse) return;
    auto address = usage::parse_clickhouse_url(text);
    TOLLGATE_ASSERT(address.ok());
    TOLLGATE_ASSERT(!address->host.empty() && address->port >= 1);
    TOLLGATE_ASSERT(!address->database.empty() && address->database.size() <= 64);
    for (char c : address->database) {
        TOLLGATE_ASSERT((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_');
    }
    // The password never survives into the name.
    if (!address->password.empty()) {
        TOLLGATE_ASSERT(url->name.find(":" + address->password + "@") == std::string::npos);
    }
}

void check_answer(std::string_view body) {
    usage::SinkUrl url{usage::SinkKind::ClickHouse, "clickhouse://h/db", "clickhouse://h/db"};
    usage::ClickHouseSink sink(url, usage::ClickHouseAddress{"h", 8123, "db", "", ""},
                               [body](const std::string&, const std::string&,
                                      const std::vector<std::pair<std::string, std::string>>&)
                                   -> core::Result<usage::ClickHouseAnswer> {
                                   return usage::ClickHouseAnswer{200, std::string(body)};
                               });
    auto totals = sink.day_totals(0, 1);
    if (!totals.ok()) {
        TOLLGATE_ASSERT(totals.error().code == "sink_error");
        return;
    }
    std::size_t lines = 0;
    for (char c : body) lines += c == '\n' ? 1 : 0;
    TOLLGATE_ASSERT(totals->size() <= lines + 1);

    // The same answer read as a report's rows: one row per line at most, and
    // each hourly cell read whole, or an error that says which.
    if (auto rows = usage::parse_tab_separated(body, 3)) {
        TOLLGATE_ASSERT(rows->size() <= std::min<std::size_t>(lines, 4));
    }
    auto hourly = sink.reports()->hourly({0, 1});
    if (hourly.ok()) {
        TOLLGATE_ASSERT(hourly->size() <= lines);
    } else {
        const std::string& code = hourly.error().code;
        TOLLGATE_ASSERT(code == "report_error" || code == "report_too_large");
    }

    usage::UsageRecord r;
    r.job_id = "job_1";
    r.failure_reason = std::string(body);
    const std::string row = usage::clickhouse_row(r);
    TOLLGATE_ASSERT(row.front() == '{' && row.back() == '}');
    for (char c : row) TOLLGATE_ASSERT(static_cast<unsigned char>(c) >= 0x20);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const auto [first, rest] = fuzz::split_first_line(fuzz::as_text(data, size));
    check_url(first);
    check_answer(rest);
    return 0;
}
