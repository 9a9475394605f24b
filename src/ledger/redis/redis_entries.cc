// Redis ledger: entries, statements and verify (the scripts are in
// redis_lua_ops.cc and redis_lua_verify.cc).
//
// An account's entries are a list, so an entry's id is its position + 1 and
// a page after an id starts with one LRANGE. A page is filtered on
// created_ms inside the script, which reads at most kEntriesScanMax entries
// per call: a narrow window deep in a long history may come back short, with
// next_after_id set so the caller pages on.
#include <set>

#include "ledger/redis/redis_ledger.h"
#include "ledger/redis/redis_reply.h"
#include "ledger/redis/redis_scripts.h"

namespace tollgate::ledger {

using namespace redis_reply;

namespace {

// Entries one statement call reads at most, matching or not.
constexpr std::int64_t kEntriesScanMax = 100'000;

Entry read_entry(const store::redis::Reply& r, const std::string& account_id) {
    Entry e;
    e.id = integer(r, 0);
    e.account_id = account_id;
    e.kind = text(r, 1);
    e.tokens = core::Tokens(integer(r, 2));
    e.hold_key = text(r, 3);
    e.reason = text(r, 4);
    e.created_ms = integer(r, 5);
    e.grant_id = optional_integer(r, 6);
    e.balance_after = integer(r, 7);
    TOLLGATE_ASSERT(e.id > 0);
    TOLLGATE_ASSERT(e.tokens.value > 0 || (e.kind == "adjustment" && e.tokens.value < 0));
    return e;
}

}  // namespace

core::Result<EntryPage> RedisLedger::entries_page(const std::string& account_id,
                                                  std::int64_t from_ms, std::int64_t to_ms,
                                                  std::int64_t after_id, std::size_t limit) {
    if (limit == 0) return core::make_error("invalid_limit", "a page holds at least one entry");
    const std::size_t page_max = std::min(limit, kEntriesPageMax);
    // One entry more than the page tells whether another page follows.
    auto r =
        run(redis_lua::entries(), account_id,
            {std::to_string(std::max<std::int64_t>(after_id, 0)), std::to_string(from_ms),
             std::to_string(to_ms), std::to_string(page_max + 1), std::to_string(kEntriesScanMax)});
    if (!r.ok()) return script_error(r.error());
    if (word(*r) == "unknown_account")
        return core::make_error("unknown_account", "no such account");
    const std::int64_t last_scanned = integer(*r, 1);
    const std::int64_t total = integer(*r, 2);
    EntryPage page;
    const std::size_t found = r->elements.size() - 3;
    for (std::size_t i = 0; i < found && i < page_max; ++i)
        page.entries.push_back(read_entry(r->elements[i + 3], account_id));
    if (found > page_max) {
        page.next_after_id = page.entries.back().id;
    } else if (last_scanned < total) {
        // The scan stopped at its bound before the end of the history.
        page.next_after_id = last_scanned;
    }
    TOLLGATE_ASSERT(page.entries.size() <= page_max);
    for (std::size_t i = 0; i < page.entries.size(); ++i) {
        const Entry& e = page.entries[i];
        TOLLGATE_ASSERT(e.id > after_id && e.created_ms >= from_ms && e.created_ms < to_ms);
        TOLLGATE_ASSERT(i == 0 || page.entries[i - 1].id < e.id);
    }
    return page;
}

core::Result<std::vector<Entry>> RedisLedger::entries(const std::string& account_id) {
    std::vector<Entry> out;
    std::int64_t after_id = 0;
    for (;;) {
        auto page = entries_page(account_id, INT64_MIN, INT64_MAX, after_id, kEntriesPageMax);
        if (!page.ok()) {
            // The SQLite backend lists nothing for an unknown account.
            if (page.error().code == "unknown_account") return out;
            return page.error();
        }
        for (Entry& e : page->entries) out.push_back(std::move(e));
        if (!page->next_after_id.has_value()) return out;
        after_id = *page->next_after_id;
    }
}

core::Result<std::vector<Mismatch>> RedisLedger::verify(std::int64_t* accounts_checked) {
    std::vector<Mismatch> out;
    std::int64_t checked = 0;
    const std::string accounts = global_key("accounts");
    std::string cursor = "0";
    std::set<std::string> seen;
    do {
        auto page = client_.command(accounts, {"SSCAN", accounts, cursor, "COUNT", "500"});
        if (!page.ok()) return page.error();
        TOLLGATE_ASSERT(page->elements.size() == 2);
        cursor = page->elements[0].text;
        for (const store::redis::Reply& id : page->elements[1].elements) {
            // SSCAN may return an element more than once.
            if (!seen.insert(id.text).second) continue;
            auto r = run(redis_lua::verify(), id.text, {});
            if (!r.ok()) return script_error(r.error());
            // An id indexed before a crash kept its account from being made.
            if (word(*r) == "unknown_account") continue;
            ++checked;
            for (std::size_t i = 1; i < r->elements.size(); ++i)
                out.push_back(Mismatch{id.text, text(*r, i)});
        }
    } while (cursor != "0");
    if (accounts_checked != nullptr) *accounts_checked = checked;
    return out;
}

}  // namespace tollgate::ledger
