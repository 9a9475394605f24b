// Routes of the native and admin APIs. A request first has to match a route
// registered in routes.h (404 or 405 otherwise); then a few explicit string
// matches pick its handler, which keeps every route's auth and scoping
// visible where it is declared.
#include "http/api/api.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "core/hash.h"
#include "core/limits.h"
#include "core/local_time.h"
#include "core/redact.h"
#include "core/request_id.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "http/api/facade/facade_api.h"
#include "http/api/json_mapping.h"
#include "http/api/json_requests.h"
#include "http/api/routes.h"
#include "http/codec/multipart.h"
#include "http/codec/query.h"
#include "pricing/plans.h"

namespace tollgate::http {
namespace {

// The image bytes: the raw body, or the file part of a multipart form.
core::Result<std::string> image_bytes(const Request& request) {
    const std::string& type = request.header("content-type");
    if (type.rfind("multipart/form-data", 0) == 0) {
        auto parts = parse_multipart(request.body, type, core::limits::kMultipartPartsMax,
                                     core::limits::kUploadBytesMax);
        if (!parts.ok()) return parts.error();
        const MultipartPart* file = find_part(*parts, "file");
        if (file == nullptr) file = find_part(*parts, "image");
        if (file == nullptr) {
            for (const MultipartPart& p : *parts) {
                if (!p.filename.empty()) {
                    file = &p;
                    break;
                }
            }
        }
        if (file == nullptr) {
            return core::make_error("bad_multipart", "the form has no file part named 'file'");
        }
        if (file->data.empty()) return core::make_error("empty_body", "the file part is empty");
        return file->data;
    }
    if (request.body.empty()) {
        return core::make_error("empty_body", "send the image bytes as the request body");
    }
    return request.body;
}

JobRequest job_request(const Request& request) {
    auto q = parse_query(request.query);
    return JobRequest{q["workflow"], q["upscale_factor"], q["quality"], q["rounding"]};
}

// Empty (no header) or 1..kIdempotencyKeyBytesMax printable ASCII bytes.
bool valid_idempotency_key(const std::string& key) {
    if (key.size() > kIdempotencyKeyBytesMax) return false;
    for (char c : key) {
        if (c < 0x21 || c > 0x7e) return false;
    }
    return true;
}

// Splits "/a/b/c" into {"a", "b", "c"}.
std::vector<std::string> segments(const std::string& path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        std::size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        if (j > i) out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

// The 405 of a method the route does not take, with the ones it does.
Response wrong_method(const RouteLookup& route) {
    Response r = error_response("method_not_allowed", "use " + route.allowed_methods);
    if (route.family == RouteFamily::Facade) r = facade::FacadeApi::in_comfy_shape(r);
    r.headers.emplace_back("Allow", route.allowed_methods);
    return r;
}

}  // namespace

Api::Api(JobService& service, ledger::Ledger& ledger, jobs::JobStore& jobs,
         const core::Clock& clock, ApiOptions options)
    : service_(service),
      ledger_(ledger),
      jobs_(jobs),
      clock_(clock),
      options_(std::move(options)),
      own_limiter_(options_.shared_limiter != nullptr
                       ? nullptr
                       : std::make_unique<RateLimiter>(
                             clock, static_cast<std::size_t>(options_.rate_limit_accounts_max))),
      limiter_(options_.shared_limiter != nullptr ? *options_.shared_limiter : *own_limiter_) {
    if (!options_.facade) return;
    // A facade route is authenticated, scoped and rate limited as /v1's are.
    auto auth = [this](const Request& request) -> std::variant<facade::FacadeCaller, Response> {
        auto authenticated = authenticate(request);
        if (Response* refused = std::get_if<Response>(&authenticated)) return std::move(*refused);
        const Caller& caller = std::get<Caller>(authenticated);
        if (auto scope = required_scope(request.method); scope && !caller.scopes.has(*scope)) {
            return error_response("insufficient_scope", "this API key lacks the '" +
                                                            std::string(ledger::to_string(*scope)) +
                                                            "' scope that " + request.method +
                                                            " needs");
        }
        if (auto limited =
                take_rate(caller, request, static_cast<std::int64_t>(request.body.size()))) {
            return std::move(*limited);
        }
        return facade::FacadeCaller{caller.account_id};
    };
    facade_ = std::make_unique<facade::FacadeApi>(
        service_, jobs_, clock_, *options_.facade, std::move(auth),
        [this](const jobs::Job& job) { return result_file(job); });
    service_.events().set_listener(
        [hub = &facade_->hub()](const std::string& job_id, std::string_view event,
                                const nlohmann::json& data,
                                bool final) { hub->on_event(job_id, event, data, final); });
}

Api::~Api() {
    if (facade_) service_.events().set_listener(nullptr);
}

WsHandlers Api::ws_handlers() {
    WsHandlers ws;
    ws.accept = [this](const Request& request) -> std::optional<Response> {
        if (!facade_ || !facade::FacadeApi::serves(request.path)) return not_found();
        return facade_->accept_ws(request);
    };
    ws.on_open = [this](const std::shared_ptr<WsSession>& session, const Request& request) {
        if (facade_) facade_->open_ws(session, request);
    };
    ws.on_message = [](const std::shared_ptr<WsSession>&, const std::string&) {};
    ws.on_close = [this](const std::shared_ptr<WsSession>& session) {
        if (facade_) facade_->close_ws(session);
    };
    return ws;
}

Response Api::handle(const Request& request) {
    // The client's (or its proxy's) id when it is a sane one; every log line
    // of this request carries it, and so does the answer.
    const std::string& sent = request.header("x-request-id");
    core::RequestIdScope id(core::valid_request_id(sent) ? sent : core::make_request_id());
    const auto started = std::chrono::steady_clock::now();
    Response response = route(request);
    response.headers.emplace_back("X-Request-Id", std::string(core::current_request_id()));
    if (options_.metrics == nullptr) return response;
    const std::string route_name = route_template(request.path);
    options_.metrics->count_request(route_name, request.method, response.status);
    if (route_name == "/v1/quote" && response.status == 200) {
        options_.metrics->quote.observe_us(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::steady_clock::now() - started)
                                               .count());
    }
    return response;
}

bool Api::admin_authorized(const Request& request) {
    // Both sides hashed first, so the comparison takes the same time whatever
    // the token's length.
    std::string token = bearer_token(request);
    if (options_.admin_token.empty() || token.empty() ||
        !core::constant_time_equal(core::sha256_hex(token),
                                   core::sha256_hex(options_.admin_token))) {
        spdlog::warn("admin: refused {} {} from {}: no valid admin token", request.method,
                     log_path(request), request.remote_address);
        return false;
    }
    return true;
}

Response Api::get_metrics(const Request& request) {
    if (options_.metrics == nullptr) return not_found();
    if (!admin_authorized(request)) {
        return error_response("unauthorized", "/metrics needs the admin token");
    }
    if (request.method != "GET") return error_response("method_not_allowed", "use GET");
    Response r;
    r.status = 200;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = options_.metrics->render(options_.live_gauges ? options_.live_gauges() : LiveGauges{});
    return r;
}

Response Api::route(const Request& request) {
    // Only a registered route reaches a handler (routes.h).
    const RouteLookup known = look_up_route(request.method, request.path, facade_ != nullptr);
    if (known.path_template.empty()) return no_route();
    if (!known.method_allowed) return wrong_method(known);
    const std::vector<std::string> seg = segments(request.path);
    if (request.path == "/healthz") return json_response(200, {{"status", "ok"}});
    if (request.path == "/metrics") return get_metrics(request);
    if (!seg.empty() && seg[0] == "dashboard") return dashboard(request);
    if (request.path == "/" || request.path.rfind("/app/", 0) == 0) return customer_page(request);
    if (!seg.empty() && seg[0] == "admin") {
        Response response = admin(request);
        // Whatever it changed (keys, tenants, plans) applies to the next
        // request. A refused one changed nothing: a stream of bad admin
        // tokens must not empty the cache.
        if (request.method != "GET" && request.method != "HEAD" && response.status < 400) {
            service_.plans().access().forget_all();
        }
        return response;
    }
    if (facade_ && facade::FacadeApi::serves(request.path)) return facade_->handle(request);
    if (seg.empty() || seg[0] != "v1") return no_route();
    // A signed result link is its own credential: no API key.
    if (seg.size() == 3 && seg[1] == "results") {
        return request.method == "GET" ? get_signed_result(request, seg[2])
                                       : error_response("method_not_allowed", "use GET");
    }

    auto authenticated = authenticate(request);
    if (Response* refused = std::get_if<Response>(&authenticated)) return std::move(*refused);
    const Caller& caller = std::get<Caller>(authenticated);
    if (auto scope = required_scope(request.method); scope && !caller.scopes.has(*scope)) {
        spdlog::info("auth: key {} of account {} lacks scope {} for {} {}", caller.key_id,
                     caller.account_id, ledger::to_string(*scope), request.method,
                     log_path(request));
        return error_response("insufficient_scope",
                              "this API key lacks the '" + std::string(ledger::to_string(*scope)) +
                                  "' scope that " + request.method + " needs");
    }
    // Charged from the body's size before anything parses the body.
    if (auto limited = take_rate(caller, request, static_cast<std::int64_t>(request.body.size()))) {
        return std::move(*limited);
    }
    const std::string& account_id = caller.account_id;

    const std::string& m = request.method;
    if (seg.size() == 2 && seg[1] == "quote") {
        return m == "POST" ? post_quote(request, account_id)
                           : error_response("method_not_allowed", "use POST");
    }
    if (seg.size() == 2 && seg[1] == "plans") {
        return m == "GET" ? get_plans() : error_response("method_not_allowed", "use GET");
    }
    if (seg.size() == 2 && seg[1] == "workflows") {
        return m == "GET" ? get_workflows(account_id)
                          : error_response("method_not_allowed", "use GET");
    }
    if (seg.size() == 2 && seg[1] == "jobs") {
        return m == "POST" ? post_job(request, account_id)
                           : error_response("method_not_allowed", "use POST");
    }
    if (seg.size() == 3 && seg[1] == "jobs") {
        if (m == "DELETE") return delete_job(seg[2], account_id);
        return m == "GET" ? get_job(seg[2], account_id, false)
                          : error_response("method_not_allowed", "use GET or DELETE");
    }
    if (seg.size() == 4 && seg[1] == "jobs" && seg[3] == "events") {
        return m == "GET" ? job_events(seg[2], account_id)
                          : error_response("method_not_allowed", "use GET");
    }
    if (seg.size() == 4 && seg[1] == "jobs" && seg[3] == "result") {
        return m == "GET" ? get_job(seg[2], account_id, true)
                          : error_response("method_not_allowed", "use GET");
    }
    if (seg.size() == 3 && seg[1] == "account" && seg[2] == "ledger") {
        return m == "GET" ? get_statement(request, account_id)
                          : error_response("method_not_allowed", "use GET");
    }
    if (seg.size() == 2 && seg[1] == "account") {
        return m == "GET" ? get_account(account_id)
                          : error_response("method_not_allowed", "use GET");
    }
    return no_route();
}

Response Api::post_quote(const Request& request, const std::string& account_id) {
    auto bytes = image_bytes(request);
    if (!bytes.ok()) return error_response(bytes.error());
    auto priced = service_.price(account_id, job_request(request), *bytes);
    if (!priced.ok()) return error_response(priced.error());
    return json_response(200, quote_to_json(*priced));
}

Response Api::post_job(const Request& request, const std::string& account_id) {
    auto bytes = image_bytes(request);
    if (!bytes.ok()) return error_response(bytes.error());
    const std::string& key = request.header("idempotency-key");
    if (!valid_idempotency_key(key)) {
        return error_response("invalid_idempotency_key",
                              "Idempotency-Key must be 1 to 255 printable ASCII characters");
    }
    auto submitted = service_.submit(account_id, job_request(request), std::move(bytes).value(),
                                     key, parse_query(request.query)["webhook_url"]);
    if (!submitted.ok()) return error_response(submitted.error());
    const SubmitResult& r = *submitted;
    switch (r.outcome) {
        case SubmitOutcome::InsufficientBalance: {
            nlohmann::json body = nlohmann::json::parse(
                error_response("insufficient_balance",
                               "the balance does not cover this job; a plan below would")
                    .body);
            nlohmann::json plans = nlohmann::json::array();
            for (const pricing::Plan* plan :
                 pricing::plans_covering(*r.priced.book, r.priced.quote.tokens, r.available)) {
                plans.push_back(plan_to_json(*plan));
            }
            body["error"]["needed"] = r.priced.quote.tokens.value;
            body["error"]["available"] = r.available.value;
            body["error"]["plans"] = plans;
            body["needed"] = r.priced.quote.tokens.value;
            body["available"] = r.available.value;
            body["plans"] = plans;
            body["quote"] = quote_to_json(r.priced);
            return json_response(402, body);
        }
        case SubmitOutcome::FairUseExceeded:
            return retry_later("fair_use_exceeded",
                               "the plan's fair-use limit " + r.fair_use.limit +
                                   " is reached; retry after " +
                                   std::to_string(r.fair_use.retry_after_s) + " s",
                               r.fair_use.retry_after_s);
        case SubmitOutcome::Busy:
            return retry_later("busy", "the gateway's job queue is full; retry shortly", 1);
        case SubmitOutcome::TooManyJobs:
            return retry_later("too_many_jobs",
                               "this account has as many unfinished jobs as it may have at once; "
                               "retry when one finishes",
                               1);
        case SubmitOutcome::TenantBusy:
            return retry_later("tenant_busy",
                               "this account's tenant has as many unfinished jobs as it may have "
                               "at once; retry when one finishes",
                               1);
        case SubmitOutcome::Duplicate: {
            const std::string what = r.dedupe.kind == jobs::DedupeKind::Near
                                         ? "a near copy of this image (" +
                                               std::to_string(r.dedupe.distance) + " bits apart)"
                                         : "this image";
            Response refused = error_response(
                "duplicate", what + " was already sent for the same work: job " + r.dedupe.of);
            nlohmann::json body = nlohmann::json::parse(refused.body);
            body["error"]["duplicate_of"] = r.dedupe.of;
            body["error"]["dedupe"] =
                dedupe_to_json(r.dedupe.kind, r.dedupe.of, r.dedupe.distance, false);
            body["duplicate_of"] = r.dedupe.of;
            refused.body = body.dump();
            return refused;
        }
        case SubmitOutcome::IdempotencyMismatch:
            return error_response("idempotency_key_reused",
                                  "this Idempotency-Key was used with a different request");
        case SubmitOutcome::Accepted:
        case SubmitOutcome::Replayed:
            break;
    }
    Response accepted;
    accepted.status = 202;
    accepted.body = r.response_json;
    if (r.outcome == SubmitOutcome::Replayed) {
        accepted.headers.emplace_back("Idempotent-Replayed", "true");
    }
    return accepted;
}

Response Api::delete_job(const std::string& job_id, const std::string& account_id) {
    auto cancelled = service_.cancel(account_id, job_id);
    if (!cancelled.ok()) return error_response(cancelled.error());
    switch (cancelled->outcome) {
        case CancelOutcome::NotFound:
            return not_found();
        case CancelOutcome::AlreadyFinished: {
            const std::string state = cancelled->job.cancelled()
                                          ? "cancelled"
                                          : std::string(jobs::to_string(cancelled->job.state));
            Response finished = error_response(
                "job_finished", "the job already " + state + "; there is nothing to cancel");
            nlohmann::json body = nlohmann::json::parse(finished.body);
            body["job"] = service_.job_json(cancelled->job);
            finished.body = body.dump();
            return finished;
        }
        case CancelOutcome::Cancelled:
            return json_response(200, service_.job_json(cancelled->job));
        case CancelOutcome::Cancelling: {
            nlohmann::json body = service_.job_json(cancelled->job);
            body["state"] = "cancelling";
            return json_response(202, body);
        }
    }
    return error_response("internal", "unreachable");
}

// Server-sent events: the job's state now, then what happens to it, until
// its final state closes the stream.
Response Api::job_events(const std::string& job_id, const std::string& account_id) {
    auto job = jobs_.get(job_id);
    if (!job.ok()) return error_response(job.error());
    if (!job->has_value() || (*job)->account_id != account_id) return not_found();
    Response r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("X-Accel-Buffering", "no");  // proxies: do not hold events back
    r.stream = [this, job_id](const std::shared_ptr<ResponseStream>& stream) {
        const bool subscribed = service_.events().subscribe(
            job_id, stream, [&]() -> std::optional<JobEvents::Snapshot> {
                auto now = jobs_.get(job_id);
                if (!now.ok() || !now->has_value()) return std::nullopt;
                return JobEvents::Snapshot{service_.job_json(**now), jobs::is_final((*now)->state)};
            });
        if (!subscribed) {
            stream->send(JobEvents::format(
                "error", {{"code", "too_many_streams"},
                          {"message", "too many event streams are open; poll GET /v1/jobs/{id}"}}));
            stream->close();
        }
    };
    return r;
}

Response Api::get_job(const std::string& job_id, const std::string& account_id, bool result) {
    auto job = jobs_.get(job_id);
    if (!job.ok()) return error_response(job.error());
    // Another account's job answers exactly like a missing one.
    if (!job->has_value() || (*job)->account_id != account_id) return not_found();
    const jobs::Job& j = **job;
    if (!result) {
        const bool succeeded = j.state == jobs::JobState::Succeeded;
        nlohmann::json body =
            job_to_json(j, succeeded ? service_.result_links().url_for(j.id) : "");
        if (!jobs::is_final(j.state)) {
            // Waiting in this process's dispatch queue: how many jobs run before it.
            if (auto position = service_.events().queue_position(j.id)) {
                body["queue_position"] = *position;
            }
        }
        return json_response(200, body);
    }
    return result_file(j);
}

Response Api::get_signed_result(const Request& request, const std::string& job_id) {
    auto query = parse_query(request.query);
    switch (service_.result_links().check(job_id, query["expires"], query["signature"])) {
        case LinkCheck::InvalidSignature:
            return error_response("invalid_signature",
                                  "the link's signature is missing or does not match");
        case LinkCheck::Expired:
            return error_response("url_expired",
                                  "the link has expired; GET /v1/jobs/{id} gives a fresh one");
        case LinkCheck::Valid:
            break;
    }
    auto job = jobs_.get(job_id);
    if (!job.ok()) return error_response(job.error());
    if (!job->has_value()) return not_found();
    return result_file(**job);
}

Response Api::result_file(const jobs::Job& j) {
    if (j.state != jobs::JobState::Succeeded) {
        return error_response("not_found", "the job has no result (state " +
                                               std::string(jobs::to_string(j.state)) + ")");
    }
    std::ifstream in(std::filesystem::path(service_.data_dir()) / j.result_path, std::ios::binary);
    if (!in) return error_response("result_missing", "the result file is gone");
    std::ostringstream bytes;
    bytes << in.rdbuf();
    Response r;
    r.content_type = "image/png";
    r.body = std::move(bytes).str();
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + j.id + ".png\"");
    return r;
}

Response Api::get_statement(const Request& request, const std::string& account_id,
                            const std::string& path) {
    auto query = parse_query(request.query);
    auto book = service_.books().current();
    auto from = parse_instant_ms(query["from"], 0, book->time_zone);
    if (!from.ok()) return error_response(from.error());
    auto to =
        parse_instant_ms(query["to"], std::numeric_limits<std::int64_t>::max(), book->time_zone);
    if (!to.ok()) return error_response(to.error());
    std::int64_t after = 0;
    std::int64_t limit = 100;
    for (auto [name, out, max] :
         {std::tuple{"after", &after, std::int64_t{1} << 62},
          std::tuple{"limit", &limit, std::int64_t{ledger::kEntriesPageMax}}}) {
        const std::string& text = query[name];
        if (text.empty()) continue;
        if (text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos ||
            std::stoll(text) > max || (std::string(name) == "limit" && std::stoll(text) < 1)) {
            return error_response("bad_request", std::string("'") + name +
                                                     "' must be an integer from " +
                                                     (std::string(name) == "limit" ? "1" : "0") +
                                                     " to " + std::to_string(max));
        }
        *out = std::stoll(text);
    }
    auto page =
        ledger_.entries_page(account_id, *from, *to, after, static_cast<std::size_t>(limit));
    if (!page.ok()) return error_response(page.error());
    nlohmann::json entries = nlohmann::json::array();
    for (const ledger::Entry& e : page->entries) {
        entries.push_back(
            {{"id", e.id},
             {"kind", e.kind},
             {"tokens", e.tokens.value},
             {"balance_after", e.balance_after},
             {"job_id", e.hold_key.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.hold_key)},
             {"grant_id", e.grant_id ? nlohmann::json(*e.grant_id) : nlohmann::json(nullptr)},
             {"reason", e.reason},
             {"created_ms", e.created_ms},
             {"time", core::format_local_time(e.created_ms, book->time_zone)}});
    }
    nlohmann::json next = nullptr;
    if (page->next_after_id) {
        next = path + "?from=" + std::to_string(*from) + "&to=" + std::to_string(*to) +
               "&limit=" + std::to_string(limit) + "&after=" + std::to_string(*page->next_after_id);
    }
    return json_response(200, {{"account_id", account_id},
                               {"from_ms", *from},
                               {"to_ms", *to},
                               {"entries", entries},
                               {"next", next}});
}

Response Api::get_plans() {
    auto book = service_.books().current();
    nlohmann::json plans = nlohmann::json::array();
    for (const auto& [name, plan] : book->plans) plans.push_back(plan_to_json(plan));
    return json_response(200, {{"book_version", book->version}, {"plans", plans}});
}

Response Api::get_account(const std::string& account_id) {
    auto book = service_.books().current();
    auto renewed = service_.plans().renew(account_id, *book);
    if (!renewed.ok()) return error_response(renewed.error());
    auto info = ledger_.account(account_id);
    if (!info.ok()) return error_response(info.error());
    if (!info->has_value()) return error_response("unknown_account", "no such account");
    auto terms = service_.plans().terms(account_id, *book);
    if (!terms.ok()) return error_response(terms.error());
    auto balance = ledger_.balance(account_id);
    if (!balance.ok()) return error_response(balance.error());
    auto grants = ledger_.grants(account_id);
    if (!grants.ok()) return error_response(grants.error());
    auto subs = ledger_.subscriptions(account_id);
    if (!subs.ok()) return error_response(subs.error());

    nlohmann::json body = balance_to_json(*balance);
    body["account_id"] = account_id;
    body["name"] = (*info)->name;
    body["tenant"] =
        terms->tenant.empty() ? nlohmann::json(nullptr) : nlohmann::json(terms->tenant);
    body["unlimited"] = terms->reserve.unlimited;
    body["credit_limit"] = terms->reserve.unlimited ? 0 : terms->reserve.credit_limit_tokens;
    body["grants"] = grants_to_json(*grants);
    nlohmann::json plans = nlohmann::json::array();
    for (const ledger::Subscription& sub : *subs) {
        if (sub.cancelled_ms) continue;
        nlohmann::json entry = {{"plan", sub.plan}, {"subscribed_ms", sub.subscribed_ms}};
        if (const pricing::Plan* plan = book->find_plan(sub.plan)) {
            entry["details"] = plan_to_json(*plan);
        }
        plans.push_back(entry);
    }
    body["plans"] = plans;
    body["book_version"] = book->version;
    const std::string webhook_key = service_.webhook_signing_key(account_id);
    body["webhook_signing_key"] =
        webhook_key.empty() ? nlohmann::json(nullptr) : nlohmann::json(webhook_key);
    return json_response(200, body);
}

Response Api::admin(const Request& request) {
    if (!admin_authorized(request)) {
        return error_response("unauthorized", "admin routes need the admin token");
    }
    const std::vector<std::string> seg = segments(request.path);
    const std::string& m = request.method;
    if (seg.size() == 2 && seg[1] == "pricing") {
        if (m != "GET") return error_response("method_not_allowed", "use GET");
        auto book = service_.books().current();
        nlohmann::json workflows = nlohmann::json::array();
        for (const auto& [name, w] : book->workflows) workflows.push_back(name);
        nlohmann::json tenants = nlohmann::json::array();
        for (const auto& [name, t] : book->tenants) tenants.push_back(name);
        nlohmann::json plans = nlohmann::json::array();
        for (const auto& [name, p] : book->plans) plans.push_back(plan_to_json(p));
        return json_response(200, {{"book_version", book->version},
                                   {"source", book->source_name},
                                   {"time_zone", book->time_zone.name()},
                                   {"workflows", workflows},
                                   {"tenants", tenants},
                                   {"plans", plans}});
    }
    if (seg.size() == 3 && seg[1] == "pricing" && seg[2] == "reload") {
        if (m != "POST") return error_response("method_not_allowed", "use POST");
        const std::string previous = service_.books().current()->version;
        auto reloaded = service_.books().reload();
        if (!reloaded.ok()) return error_response(reloaded.error());
        return json_response(
            200, {{"book_version", (*reloaded)->version}, {"previous_version", previous}});
    }
    if (seg.size() == 5 && seg[1] == "accounts" && seg[3] == "plans" && m == "DELETE") {
        auto removed = ledger_.unsubscribe(seg[2], seg[4]);
        if (!removed.ok()) return error_response(removed.error());
        if (!*removed) return error_response("not_found", "no active subscription to that plan");
        return json_response(200, {{"account_id", seg[2]}, {"plan", seg[4]}, {"active", false}});
    }
    if (seg.size() == 3 && seg[1] == "reports") return admin_report(request, seg[2]);
    // An account as its owner sees it (GET /v1/account, /v1/account/ledger), for support.
    if (seg.size() == 3 && seg[1] == "accounts" && m == "GET") return get_account(seg[2]);
    if (seg.size() == 4 && seg[1] == "accounts" && seg[3] == "ledger" && m == "GET") {
        return get_statement(request, seg[2], "/admin/accounts/" + seg[2] + "/ledger");
    }
    if (seg.size() == 2 && seg[1] == "workers") {
        return m == "GET" ? admin_workers() : error_response("method_not_allowed", "use GET");
    }
    if (seg.size() == 4 && seg[1] == "accounts" && seg[3] == "keys") {
        if (m == "POST") return admin_create_key(request, seg[2]);
        return m == "GET" ? admin_list_keys(seg[2])
                          : error_response("method_not_allowed", "use GET or POST");
    }
    if (seg.size() == 5 && seg[1] == "accounts" && seg[3] == "keys") {
        return m == "DELETE" ? admin_revoke_key(seg[2], seg[4])
                             : error_response("method_not_allowed", "use DELETE");
    }
    if (m != "POST") return error_response("method_not_allowed", "use POST");
    if (seg.size() == 3 && seg[1] == "workers" && seg[2] == "drain") {
        return admin_drain_worker(request);
    }
    if (seg.size() == 2 && seg[1] == "accounts") return admin_create_account(request);
    if (seg.size() == 4 && seg[1] == "accounts" && seg[3] == "grants") {
        return admin_grant(request, seg[2]);
    }
    if (seg.size() == 4 && seg[1] == "accounts" && seg[3] == "adjustments") {
        return admin_adjust(request, seg[2]);
    }
    if (seg.size() == 4 && seg[1] == "jobs" && seg[3] == "refunds") {
        return admin_refund(request, seg[2]);
    }
    if (seg.size() == 4 && seg[1] == "accounts" && seg[3] == "plans") {
        auto plan = parse_plan_request(request.body);
        if (!plan.ok()) return error_response(plan.error());
        auto book = service_.books().current();
        auto sub = service_.plans().subscribe(seg[2], *book, plan->plan);
        if (!sub.ok()) return error_response(sub.error());
        auto grants = ledger_.grants(seg[2]);
        if (!grants.ok()) return error_response(grants.error());
        return json_response(201, {{"account_id", seg[2]},
                                   {"plan", sub->plan},
                                   {"subscribed_ms", sub->subscribed_ms},
                                   {"grants", grants_to_json(*grants)}});
    }
    if (seg.size() == 4 && seg[1] == "accounts" && seg[3] == "tenant") {
        auto request_tenant = parse_tenant_request(request.body);
        if (!request_tenant.ok()) return error_response(request_tenant.error());
        const std::string& tenant = request_tenant->tenant;
        auto book = service_.books().current();
        if (!tenant.empty() && book->find_tenant(tenant) == nullptr) {
            return error_response("unknown_tenant", "price book " + book->version +
                                                        " has no tenant \"" + tenant + "\"");
        }
        auto set = ledger_.set_tenant(seg[2], tenant);
        if (!set.ok()) return error_response(set.error());
        if (!*set) return error_response("unknown_account", "no such account");
        return json_response(200, {{"account_id", seg[2]}, {"tenant", tenant}});
    }
    return no_route();
}

Response Api::admin_create_account(const Request& request) {
    auto account = parse_create_account_request(request.body);
    if (!account.ok()) return error_response(account.error());
    const std::string& tenant = account->tenant;
    auto book = service_.books().current();
    if (!tenant.empty() && book->find_tenant(tenant) == nullptr) {
        return error_response("unknown_tenant",
                              "price book " + book->version + " has no tenant \"" + tenant + "\"");
    }
    auto id = ledger_.create_account(account->name);
    if (!id.ok()) return error_response(id.error());
    if (!tenant.empty()) {
        auto set = ledger_.set_tenant(*id, tenant);
        if (!set.ok()) return error_response(set.error());
    }
    return json_response(201, {{"account_id", *id}});
}

Response Api::admin_grant(const Request& request, const std::string& account_id) {
    auto grant = parse_grant_request(request.body);
    if (!grant.ok()) return error_response(grant.error());
    auto book = service_.books().current();
    ledger::GrantSpec spec;
    spec.account_id = account_id;
    spec.tokens = core::Tokens(grant->tokens);
    spec.reason = grant->reason.empty() ? "top-up" : grant->reason;
    spec.key = grant->key;
    // Top-ups never expire unless the book or the request says so.
    const std::int64_t expires_in_days = grant->expires_in_days.value_or(book->topup_expiry_days);
    if (expires_in_days > 0) spec.expires_ms = clock_.now_ms() + expires_in_days * 86'400'000;
    if (grant->priority) spec.priority = *grant->priority;
    auto added = ledger_.add_grant(spec);
    if (!added.ok()) return error_response(added.error());
    auto balance = ledger_.balance(account_id);
    if (!balance.ok()) return error_response(balance.error());
    nlohmann::json out = balance_to_json(*balance);
    out["grant_id"] = added->grant_id;
    out["created"] = added->created;
    out["account_id"] = account_id;
    return json_response(added->created ? 201 : 200, out);
}

}  // namespace tollgate::http
