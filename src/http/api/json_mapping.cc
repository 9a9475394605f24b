#include "http/api/json_mapping.h"

namespace tollgate::http {

nlohmann::json breakdown_to_json(const pricing::Quote& quote) {
    nlohmann::json items = nlohmann::json::array();
    for (const pricing::QuoteItem& item : quote.items) {
        items.push_back({{"rule", item.rule},
                         {"detail", item.detail},
                         {"tokens", pricing::format_micro_tokens(item.micro_tokens)},
                         {"micro_tokens", item.micro_tokens}});
    }
    return items;
}

nlohmann::json quote_to_json(const PricedImage& priced) {
    const pricing::Quote& q = priced.quote;
    return {{"workflow", q.workflow},
            {"book_version", q.book_version},
            {"width", q.width},
            {"height", q.height},
            {"format", std::string(image::to_string(priced.info.format))},
            {"upscale_factor", pricing::format_micro_tokens(q.upscale_factor_milli * 1000)},
            {"rounding", std::string(pricing::to_string(q.rounding))},
            {"tokens", q.tokens.value},
            {"breakdown", breakdown_to_json(q)}};
}

nlohmann::json job_to_json(const jobs::Job& job) {
    nlohmann::json out = {{"job_id", job.id},
                          {"state", std::string(jobs::to_string(job.state))},
                          {"workflow", job.workflow},
                          {"tokens", job.tokens},
                          {"width", job.width},
                          {"height", job.height},
                          {"book_version", job.book_version},
                          {"created_ms", job.created_ms}};
    if (jobs::is_final(job.state)) out["finished_ms"] = job.finished_ms;
    if (job.state == jobs::JobState::Succeeded) {
        out["result_url"] = "/v1/jobs/" + job.id + "/result";
    }
    if (job.state == jobs::JobState::Failed) {
        out["failure_reason"] = job.failure_reason;
        out["tokens_charged"] = 0;
    } else if (job.state == jobs::JobState::Succeeded) {
        out["tokens_charged"] = job.tokens;
    }
    return out;
}

nlohmann::json balance_to_json(const ledger::Balance& b) {
    return {{"available", b.available().value},
            {"held", b.held.value},
            {"granted", b.granted.value},
            {"captured", b.captured.value}};
}

}  // namespace tollgate::http
