#include "http/api/json_mapping.h"

namespace tollgate::http {
namespace {

std::string format_cents(std::int64_t cents) {
    std::string out = std::to_string(cents / 100) + ".";
    const std::int64_t rest = cents % 100;
    if (rest < 10) out += "0";
    return out + std::to_string(rest);
}

}  // namespace

nlohmann::json items_to_json(const pricing::Quote& quote) {
    nlohmann::json items = nlohmann::json::array();
    for (const pricing::QuoteItem& item : quote.items()) {
        items.push_back({{"rule", std::string(pricing::rule_name(item.rule))},
                         {"detail", pricing::describe(quote, item)},
                         {"tokens", pricing::format_micro_tokens(item.micro_tokens)},
                         {"micro_tokens", item.micro_tokens}});
    }
    return items;
}

std::string items_summary(const pricing::Quote& quote) {
    std::string out;
    for (const pricing::QuoteItem& item : quote.items()) {
        if (!out.empty()) out += " + ";
        out += std::string(pricing::rule_name(item.rule)) + " " +
               pricing::format_micro_tokens(item.micro_tokens);
    }
    return out + " = " + std::to_string(quote.tokens.value) + " tokens";
}

nlohmann::json quote_fields_to_json(const pricing::Quote& q) {
    nlohmann::json out = {
        {"workflow", std::string(q.workflow())},
        {"book_version", std::string(q.book_version)},
        {"width", q.width},
        {"height", q.height},
        {"upscale_factor", pricing::format_micro_tokens(q.upscale_factor_milli * 1000)},
        {"output_width", q.output_width},
        {"output_height", q.output_height},
        {"quality", q.quality ? nlohmann::json(q.quality->name) : nlohmann::json(nullptr)},
        {"model_input_size", q.model_input_size()},
        {"tiles", q.tiles},
        {"window", q.window ? nlohmann::json(q.window->name) : nlohmann::json(nullptr)},
        {"tenant", q.tenant ? nlohmann::json(q.tenant->name) : nlohmann::json(nullptr)},
        {"priced_at_ms", q.at_unix_ms},
        {"rounding", std::string(pricing::to_string(q.rounding))},
        {"tokens", q.tokens.value},
        {"items", items_to_json(q)}};
    return out;
}

nlohmann::json quote_to_json(const PricedImage& priced) {
    nlohmann::json out = quote_fields_to_json(priced.quote);
    out["format"] = std::string(image::to_string(priced.info.format));
    return out;
}

nlohmann::json accepted_to_json(const SubmitResult& r) {
    nlohmann::json quote = quote_to_json(r.priced);
    nlohmann::json out = {{"job_id", r.job_id},
                          {"state", "dispatched"},
                          {"tokens", r.priced.quote.tokens.value},
                          {"book_version", quote["book_version"]},
                          {"items", quote["items"]},
                          {"quote", quote},
                          {"available", r.available.value},
                          {"priority", r.deprioritized ? "low" : "normal"},
                          {"status_url", "/v1/jobs/" + r.job_id}};
    if (r.dedupe.kind != jobs::DedupeKind::None) {
        out["dedupe"] = dedupe_to_json(r.dedupe.kind, r.dedupe.of, r.dedupe.distance, false);
    }
    return out;
}

nlohmann::json duplicate_accepted_to_json(const SubmitResult& r, const jobs::Job& job) {
    nlohmann::json quote = quote_to_json(r.priced);
    return {{"job_id", job.id},
            {"state", std::string(jobs::to_string(job.state))},
            {"tokens", job.tokens},
            {"book_version", quote["book_version"]},
            {"items", nlohmann::json::array()},
            {"quote", quote},
            {"available", r.available.value},
            {"priority", "normal"},
            {"status_url", "/v1/jobs/" + job.id},
            {"dedupe", dedupe_to_json(job.dedupe_kind, job.dedupe_of, job.dedupe_distance,
                                      job.dedupe_reused)}};
}

nlohmann::json dedupe_to_json(jobs::DedupeKind kind, const std::string& of, std::int64_t distance,
                              bool reused) {
    nlohmann::json out = {
        {"kind", std::string(jobs::to_string(kind))}, {"of", of}, {"reused", reused}};
    if (kind == jobs::DedupeKind::Near) out["distance"] = distance;
    return out;
}

nlohmann::json job_to_json(const jobs::Job& job, const std::string& result_url) {
    nlohmann::json out = {{"job_id", job.id},
                          {"state", job.cancelled() ? std::string("cancelled")
                                                    : std::string(jobs::to_string(job.state))},
                          {"workflow", job.workflow},
                          {"tokens", job.tokens},
                          {"width", job.width},
                          {"height", job.height},
                          {"book_version", job.book_version},
                          {"created_ms", job.created_ms}};
    if (jobs::is_final(job.state)) out["finished_ms"] = job.finished_ms;
    if (job.state == jobs::JobState::Succeeded) out["result_url"] = result_url;
    if (!job.webhook_url.empty()) out["webhook_url"] = job.webhook_url;
    if (job.dedupe_kind != jobs::DedupeKind::None) {
        out["dedupe"] =
            dedupe_to_json(job.dedupe_kind, job.dedupe_of, job.dedupe_distance, job.dedupe_reused);
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
            {"captured", b.captured.value},
            {"expired", b.expired.value}};
}

nlohmann::json grants_to_json(const std::vector<ledger::GrantInfo>& grants) {
    nlohmann::json out = nlohmann::json::array();
    for (const ledger::GrantInfo& g : grants) {
        out.push_back(
            {{"id", g.id},
             {"reason", g.reason},
             {"tokens", g.tokens.value},
             {"remaining", g.remaining.value},
             {"used", g.used.value},
             {"expired", g.expired.value},
             {"starts_ms", g.starts_ms},
             {"expires_ms", g.expires_ms ? nlohmann::json(*g.expires_ms) : nlohmann::json(nullptr)},
             {"priority", g.priority}});
    }
    return out;
}

nlohmann::json plan_to_json(const pricing::Plan& plan) {
    return {{"name", plan.name},
            {"display_name", plan.display_name.empty() ? plan.name : plan.display_name},
            {"period", plan.period == pricing::PlanPeriod::Month ? "month" : "year"},
            {"tokens", plan.unlimited ? nlohmann::json(nullptr) : nlohmann::json(plan.tokens)},
            {"unlimited", plan.unlimited},
            {"price", format_cents(plan.price_cents)},
            {"currency", plan.currency}};
}

}  // namespace tollgate::http
