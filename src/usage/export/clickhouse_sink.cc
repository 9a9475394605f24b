#include "usage/export/clickhouse_sink.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <set>

#include "core/assert.h"
#include "core/time_zone.h"
#include "usage/report_sql.h"

namespace tollgate::usage {
namespace {

constexpr const char* kTable = "tollgate_usage";

// Columns added after the table first shipped. 18.16 has no ADD COLUMN IF NOT
// EXISTS, so prepare() reads the table's columns and adds those missing, each
// after the one before it, so that an old table ends up with the columns of a
// new one in the same order. Parts written before the ALTER read the default
// (-1, not measured) without being rewritten.
struct AddedColumn {
    const char* name;
    const char* definition;
    const char* after;
};
constexpr AddedColumn kClickHouseAddedColumns[] = {
    {"meter_wall_ms", "Int64 DEFAULT -1", "dedupe_distance"},
    {"meter_gpu_peak_bytes", "Int64 DEFAULT -1", "meter_wall_ms"},
};
// More columns than any version of the table has: an answer past it is not ours.
constexpr std::size_t kColumnsMax = 1'000;

std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (unsigned char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

bool parse_int(std::string_view text, std::int64_t* out) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, *out);
    return ec == std::errc() && ptr == end;
}

std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    if (text.size() > 300) text.resize(300);
    return text;
}

}  // namespace

core::Result<ClickHouseAddress> parse_clickhouse_url(std::string_view url) {
    auto invalid = [&](const std::string& why) {
        return core::make_error("invalid_sink_url",
                                "export_to \"" + url_for_errors(url) + "\": " + why);
    };
    constexpr std::string_view kScheme = "clickhouse://";
    if (!url.starts_with(kScheme)) return invalid("must start with clickhouse://");
    std::string_view rest = url.substr(kScheme.size());
    ClickHouseAddress a;
    const std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        std::string_view db = rest.substr(slash + 1);
        if (!db.empty()) a.database = std::string(db);
    }
    for (char c : a.database) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
            return invalid("the database name may hold only letters, digits and '_'");
        }
    }
    if (a.database.size() > 64) return invalid("the database name is longer than 64 bytes");
    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
        const std::size_t colon = userinfo.find(':');
        a.user = std::string(userinfo.substr(0, colon));
        if (colon != std::string_view::npos) a.password = std::string(userinfo.substr(colon + 1));
    }
    std::string_view host = authority;
    std::string_view port;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return invalid("an IPv6 address lacks its ']'");
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) return invalid("junk after the IPv6 address");
            port = after.substr(1);
        }
    } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return invalid("names no host");
    a.host = std::string(host);
    if (!port.empty()) {
        std::int64_t p = 0;
        if (!parse_int(port, &p) || p < 1 || p > 65'535) return invalid("invalid port");
        a.port = static_cast<std::uint16_t>(p);
    }
    return a;
}

std::string clickhouse_row(const UsageRecord& r) {
    std::string out = "{";
    auto text = [&](const char* key, const std::string& value) {
        if (out.size() > 1) out += ',';
        out += '"';
        out += key;
        out += "\":";
        append_json_string(out, value);
    };
    auto number = [&](const char* key, std::int64_t value) {
        out += ",\"";
        out += key;
        out += "\":";
        out += std::to_string(value);
    };
    text("job_id", r.job_id);
    text("account_id", r.account_id);
    text("workflow", r.workflow);
    number("width", r.width);
    number("height", r.height);
    number("tokens", r.tokens);
    number("quoted_tokens", r.quoted_tokens);
    text("book_version", r.book_version);
    text("md5", r.md5_hex);
    text("sha256", r.sha256_hex);
    text("worker", r.worker);
    number("queue_wait_ms", r.queue_wait_ms);
    number("execution_ms", r.execution_ms);
    text("outcome", r.outcome);
    text("failure_reason", r.failure_reason);
    number("finished_ms", r.finished_ms);
    number("vram_peak_bytes", r.vram_peak_bytes);
    number("attempts", r.attempts);
    text("dedupe_kind", r.dedupe_kind);
    text("dedupe_of", r.dedupe_of);
    number("dedupe_distance", r.dedupe_distance);
    number("meter_wall_ms", r.meter_wall_ms);
    number("meter_gpu_peak_bytes", r.meter_gpu_peak_bytes);
    text("day", core::format_civil_date(core::civil_from_days(r.finished_ms / kMsPerDay)));
    out += '}';
    return out;
}

ClickHouseSink::ClickHouseSink(SinkUrl url, ClickHouseAddress address, ClickHousePost post)
    : url_(std::move(url)), address_(std::move(address)), post_(std::move(post)) {
    TOLLGATE_ASSERT(url_.kind == SinkKind::ClickHouse);
    TOLLGATE_ASSERT(post_ != nullptr);
}

core::Result<std::string> ClickHouseSink::run(const std::string& query, const std::string& body,
                                              bool in_database) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!address_.user.empty()) headers.emplace_back("X-ClickHouse-User", address_.user);
    if (!address_.password.empty()) headers.emplace_back("X-ClickHouse-Key", address_.password);
    // The database a statement creates cannot be the session's own yet.
    const std::string target =
        (in_database ? "/?database=" + percent_encode(address_.database) + "&" : "/?") +
        "query=" + percent_encode(query);
    auto answer = post_(target, body, headers);
    if (!answer.ok()) {
        return core::make_error("sink_unavailable", url_.name + ": " + answer.error().code + ": " +
                                                        answer.error().message);
    }
    if (answer->status != 200) {
        return core::make_error("sink_error", url_.name + " answered HTTP " +
                                                  std::to_string(answer->status) + ": " +
                                                  one_line(answer->body));
    }
    return std::move(answer->body);
}

core::Status ClickHouseSink::prepare() {
    if (address_.database != "default") {
        auto made = run("CREATE DATABASE IF NOT EXISTS " + address_.database, "", false);
        if (!made.ok()) return made.error();
    }
    auto made = run(std::string("CREATE TABLE IF NOT EXISTS ") + kTable +
                        " (job_id String, account_id String, workflow String, width Int64, "
                        "height Int64, tokens Int64, quoted_tokens Int64, book_version String, "
                        "md5 String, sha256 String, worker String, queue_wait_ms Int64, "
                        "execution_ms Int64, outcome String, failure_reason String, "
                        "finished_ms Int64, vram_peak_bytes Int64, attempts Int64, "
                        "dedupe_kind String, dedupe_of String, dedupe_distance Int64, "
                        "meter_wall_ms Int64 DEFAULT -1, meter_gpu_peak_bytes Int64 DEFAULT -1, "
                        "day Date) "
                        "ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY job_id",
                    "");
    if (!made.ok()) return made.error();
    return add_missing_columns();
}

core::Result<std::set<std::string>> ClickHouseSink::column_names() {
    // currentDatabase() is the URL's: every statement runs in it.
    auto rows = select_rows(std::string("SELECT name FROM system.columns WHERE database = "
                                        "currentDatabase() AND table = '") +
                                kTable + "'",
                            kColumnsMax);
    if (!rows.ok()) {
        if (rows.error().code != "report_error") return rows.error();
        return core::make_error("sink_error", rows.error().message);
    }
    std::set<std::string> names;
    for (const std::vector<std::string>& row : *rows) {
        if (row.size() != 1) {
            return core::make_error("sink_error",
                                    url_.name + " answered an unreadable column list");
        }
        names.insert(row[0]);
    }
    return names;
}

core::Status ClickHouseSink::add_missing_columns() {
    auto present = column_names();
    if (!present.ok()) return present.error();
    for (const AddedColumn& column : kClickHouseAddedColumns) {
        if (present->count(column.name) != 0) continue;
        auto added = run(std::string("ALTER TABLE ") + kTable + " ADD COLUMN " + column.name + " " +
                             column.definition + " AFTER " + column.after,
                         "");
        if (added.ok()) continue;
        // Another gateway may have added it meanwhile: then all is well.
        auto again = column_names();
        if (!again.ok()) return again.error();
        if (again->count(column.name) == 0) return added.error();
        present = std::move(again);
    }
    return {};
}

core::Status ClickHouseSink::ship(const std::vector<UsageRecord>& records) {
    if (records.empty()) return {};
    std::string body;
    for (const UsageRecord& r : records) {
        body += clickhouse_row(r);
        body += '\n';
    }
    auto done = run(std::string("INSERT INTO ") + kTable + " FORMAT JSONEachRow", body);
    if (!done.ok()) return done.error();
    return {};
}

core::Result<std::vector<DayTotal>> ClickHouseSink::day_totals(std::int64_t from_ms,
                                                               std::int64_t to_ms) {
    // Read as a report's rows are: escapes undone, every row whole.
    auto rows = select_rows(std::string("SELECT account_id, intDiv(finished_ms, 86400000) AS d, "
                                        "sum(tokens), count() FROM ") +
                                kTable + " FINAL WHERE finished_ms >= " + std::to_string(from_ms) +
                                " AND finished_ms < " + std::to_string(to_ms) +
                                " GROUP BY account_id, d ORDER BY account_id, d",
                            std::numeric_limits<std::size_t>::max() / 2);
    if (!rows.ok()) {
        if (rows.error().code != "report_error") return rows.error();
        return core::make_error("sink_error", rows.error().message);
    }
    std::vector<DayTotal> out;
    for (const std::vector<std::string>& row : *rows) {
        DayTotal t;
        if (row.size() != 4 || !parse_int(row[1], &t.day) || !parse_int(row[2], &t.tokens) ||
            !parse_int(row[3], &t.jobs)) {
            std::string line;
            for (const std::string& cell : row) line += (line.empty() ? "" : "\t") + cell;
            return core::make_error("sink_error",
                                    url_.name + " answered an unreadable total: " + one_line(line));
        }
        t.account_id = row[0];
        out.push_back(std::move(t));
    }
    return out;
}

std::optional<std::vector<std::vector<std::string>>> parse_tab_separated(std::string_view body,
                                                                         std::size_t rows_max) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string cell;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (c == '\t' || c == '\n') {
            row.push_back(std::move(cell));
            cell.clear();
            if (c == '\n') {
                if (rows.size() > rows_max) return std::nullopt;
                rows.push_back(std::move(row));
                row.clear();
            }
            continue;
        }
        if (c != '\\') {
            cell += c;
            continue;
        }
        if (++i == body.size()) return std::nullopt;
        switch (body[i]) {
            case 't':
                cell += '\t';
                break;
            case 'n':
                cell += '\n';
                break;
            case 'r':
                cell += '\r';
                break;
            case 'b':
                cell += '\b';
                break;
            case 'f':
                cell += '\f';
                break;
            case '0':
                cell += '\0';
                break;
            case '\\':
                cell += '\\';
                break;
            case '\'':
                cell += '\'';
                break;
            default:
                return std::nullopt;  // \N (NULL) included: no report cell is NULL
        }
    }
    // Every row ends with a newline.
    if (!cell.empty() || !row.empty()) return std::nullopt;
    return rows;
}

core::Result<std::vector<std::vector<std::string>>> ClickHouseSink::select_rows(
    const std::string& sql, std::size_t rows_max) {
    auto answer = run(sql + " FORMAT TabSeparated", "");
    if (!answer.ok()) return answer.error();
    auto rows = parse_tab_separated(*answer, rows_max);
    if (!rows) {
        return core::make_error("report_error",
                                url_.name + " answered an unreadable report: " + one_line(*answer));
    }
    return std::move(*rows);
}

std::unique_ptr<UsageReportSource> ClickHouseSink::reports() {
    return std::make_unique<SqlReportSource>(SqlDialect::ClickHouse, kTable,
                                             [this](const std::string& sql, std::size_t rows_max) {
                                                 return select_rows(sql, rows_max);
                                             });
}

}  // namespace tollgate::usage
