#include "app/quote_command.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http/api/json_mapping.h"

namespace tollgate::app {

std::string format_quote_table(const pricing::Quote& q) {
    std::string out =
        fmt::format("{} {}x{}, upscale x{}, price book {}, rounding {}\n", q.workflow, q.width,
                    q.height, pricing::format_micro_tokens(q.upscale_factor_milli * 1000),
                    q.book_version, pricing::to_string(q.rounding));
    for (const pricing::QuoteItem& item : q.items) {
        out += fmt::format("  {:<18} {:<44} {:>10}\n", item.rule, item.detail,
                           pricing::format_micro_tokens(item.micro_tokens));
    }
    out += fmt::format("  {:<18} {:<44} {:>10}\n", "total", "tokens", q.tokens.value);
    return out;
}

std::string format_quote_json(const pricing::Quote& q) {
    nlohmann::json out = {{"workflow", q.workflow},
                          {"width", q.width},
                          {"height", q.height},
                          {"book_version", q.book_version},
                          {"rounding", std::string(pricing::to_string(q.rounding))},
                          {"tokens", q.tokens.value},
                          {"breakdown", http::breakdown_to_json(q)}};
    return out.dump(2);
}

}  // namespace tollgate::app
