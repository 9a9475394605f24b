// Shadow pricing (see shadow_price.h).
#include "usage/insight/shadow_price.h"

#include <algorithm>

#include "core/assert.h"
#include "pricing/quote.h"

namespace tollgate::usage {
namespace {

void add(ShadowLine& line, std::int64_t current, std::int64_t suggested) {
    ++line.jobs;
    line.current_tokens += current;
    line.suggested_tokens += suggested;
}

std::int64_t moved(const ShadowLine& l) {
    const std::int64_t d = l.suggested_tokens - l.current_tokens;
    return d < 0 ? -d : d;
}

}  // namespace

core::Result<ShadowPrice> shadow_price(
    const pricing::PriceBook& current, const pricing::PriceBook& suggested,
    const std::map<std::string, std::vector<ExecutionSample>>& jobs, std::size_t accounts_max) {
    TOLLGATE_ASSERT(accounts_max <= kShadowAccountsMax);
    ShadowPrice out;
    std::map<std::string, ShadowLine> accounts;
    for (const auto& [workflow, list] : jobs) {
        ShadowLine line{.name = workflow};
        for (const ExecutionSample& job : list) {
            pricing::QuoteRequest request;
            request.workflow = workflow;
            request.width = job.width;
            request.height = job.height;
            request.at_unix_ms = job.finished_ms;
            auto now = pricing::quote(current, request);
            if (!now.ok()) return now.error();
            auto then = pricing::quote(suggested, request);
            if (!then.ok()) return then.error();
            // Quotes are bounded (quote_too_large), so these sums of at most
            // kReportRowsMax jobs per workflow stay far from overflow.
            add(line, now->tokens.value, then->tokens.value);
            add(out.total, now->tokens.value, then->tokens.value);
            ShadowLine& account = accounts[job.account_id];
            account.name = job.account_id;
            add(account, now->tokens.value, then->tokens.value);
        }
        out.workflows.push_back(std::move(line));
    }
    for (auto& [id, line] : accounts) out.accounts.push_back(std::move(line));
    std::stable_sort(out.accounts.begin(), out.accounts.end(),
                     [](const ShadowLine& a, const ShadowLine& b) { return moved(a) > moved(b); });
    if (out.accounts.size() > accounts_max) out.accounts.resize(accounts_max);
    return out;
}

}  // namespace tollgate::usage
