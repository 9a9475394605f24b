#include "app/statement_command.h"

#include <cstdio>
#include <limits>

#include "core/local_time.h"

namespace tollgate::app {
namespace {

int statement_failed(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 2;
}

// RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes.
std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::string statement_header() {
    return "entry_id,time,kind,tokens,balance_after,job_id,grant_id,reason\r\n";
}

std::string statement_row(const ledger::Entry& e, const core::TimeZone& zone) {
    return std::to_string(e.id) + "," + core::format_local_time(e.created_ms, zone) + "," +
           csv_field(e.kind) + "," + std::to_string(e.tokens.value) + "," +
           std::to_string(e.balance_after) + "," + csv_field(e.hold_key) + "," +
           (e.grant_id ? std::to_string(*e.grant_id) : std::string()) + "," + csv_field(e.reason) +
           "\r\n";
}

int run_statement(const StatementOptions& o) {
    std::int64_t from_ms = 0;
    std::int64_t to_ms = std::numeric_limits<std::int64_t>::max();
    if (!o.from.empty()) {
        auto from = core::parse_local_time_ms(o.from, o.zone);
        if (!from.ok()) return statement_failed("--from: " + from.error().message);
        from_ms = *from;
    }
    if (!o.to.empty()) {
        auto to = core::parse_local_time_ms(o.to, o.zone);
        if (!to.ok()) return statement_failed("--to: " + to.error().message);
        to_ms = *to;
    }
    auto opened = open_command_ledger(o.store, "ledger");
    if (!opened.ok()) return statement_failed(opened.error().message);
    ledger::Ledger& ledger = *opened->ledger;
    auto account = ledger.account(o.account_id);
    if (!account.ok()) return statement_failed(account.error().message);
    if (!account->has_value()) return statement_failed("no account " + o.account_id);

    std::string out = statement_header();
    std::int64_t after_id = 0;
    for (;;) {
        auto page =
            ledger.entries_page(o.account_id, from_ms, to_ms, after_id, ledger::kEntriesPageMax);
        if (!page.ok()) return statement_failed(page.error().message);
        for (const ledger::Entry& e : page->entries) out += statement_row(e, o.zone);
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
        if (!page->next_after_id) break;
        after_id = *page->next_after_id;
    }
    return 0;
}

}  // namespace tollgate::app
