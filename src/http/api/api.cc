// Routes of the native and admin APIs. The router is a few explicit string
// matches: the route table is small and fixed, and explicit code keeps every
// route's auth and scoping visible where it is declared.
#include "http/api/api.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/hash.h"
#include "core/limits.h"
#include "http/api/error_map.h"
#include "http/api/json_mapping.h"
#include "http/codec/multipart.h"
#include "http/codec/query.h"

namespace tollgate::http {
namespace {

Response json_response(int status, const nlohmann::json& body) {
    Response r;
    r.status = status;
    r.body = body.dump();
    return r;
}

// "Bearer <token>" → token; empty when absent or malformed.
std::string bearer_token(const Request& request) {
    const std::string& h = request.header("authorization");
    constexpr std::string_view kPrefix = "Bearer ";
    if (h.size() <= kPrefix.size() || h.compare(0, kPrefix.size(), kPrefix) != 0) return {};
    return h.substr(kPrefix.size());
}

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
    return JobRequest{q["workflow"], q["upscale_factor"], q["rounding"]};
}

core::Result<nlohmann::json> json_body(const Request& request) {
    if (request.body.size() > static_cast<std::size_t>(core::limits::kJsonBodyBytesMax)) {
        return core::make_error("payload_too_large", "JSON body is too large");
    }
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        return core::make_error("invalid_json", "the body must be a JSON object");
    }
    return body;
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

Response not_found() { return error_response("not_found", "no such resource"); }

}  // namespace

Api::Api(JobService& service, ledger::Ledger& ledger, jobs::JobStore& jobs, ApiOptions options)
    : service_(service), ledger_(ledger), jobs_(jobs), options_(std::move(options)) {}

Response Api::handle(const Request& request) {
    const std::vector<std::string> seg = segments(request.path);
    if (request.path == "/healthz") return json_response(200, {{"status", "ok"}});
    if (!seg.empty() && seg[0] == "admin") return admin(request);
    if (seg.empty() || seg[0] != "v1") return not_found();

    std::string key = bearer_token(request);
    if (key.empty()) {
        return error_response("unauthorized", "send 'Authorization: Bearer <api key>'");
    }
    auto account = ledger_.find_account_by_key(key);
    if (!account.ok()) return error_response(account.error());
    if (!account->has_value()) return error_response("unauthorized", "unknown API key");
    const std::string& account_id = **account;

    const std::string& m = request.method;
    if (seg.size() == 2 && seg[1] == "quote") {
        return m == "POST" ? post_quote(request) : error_response("method_not_allowed", "use POST");
    }
    if (seg.size() == 2 && seg[1] == "jobs") {
        return m == "POST" ? post_job(request, account_id)
                           : error_response("method_not_allowed", "use POST");
    }
    if (seg.size() == 3 && seg[1] == "jobs") {
        return m == "GET" ? get_job(seg[2], account_id, false)
                          : error_response("method_not_allowed", "use GET");
    }
    if (seg.size() == 4 && seg[1] == "jobs" && seg[3] == "result") {
        return m == "GET" ? get_job(seg[2], account_id, true)
                          : error_response("method_not_allowed", "use GET");
    }
    if (seg.size() == 2 && seg[1] == "account") {
        return m == "GET" ? get_account(account_id)
                          : error_response("method_not_allowed", "use GET");
    }
    return not_found();
}

Response Api::post_quote(const Request& request) {
    auto bytes = image_bytes(request);
    if (!bytes.ok()) return error_response(bytes.error());
    auto priced = service_.price(job_request(request), *bytes);
    if (!priced.ok()) return error_response(priced.error());
    return json_response(200, quote_to_json(*priced));
}

Response Api::post_job(const Request& request, const std::string& account_id) {
    auto bytes = image_bytes(request);
    if (!bytes.ok()) return error_response(bytes.error());
    auto submitted = service_.submit(account_id, job_request(request), std::move(bytes).value());
    if (!submitted.ok()) return error_response(submitted.error());
    const SubmitResult& r = *submitted;
    switch (r.outcome) {
        case SubmitOutcome::InsufficientBalance: {
            nlohmann::json body = nlohmann::json::parse(
                error_response("insufficient_balance", "the balance does not cover this job").body);
            body["error"]["needed"] = r.priced.quote.tokens.value;
            body["error"]["available"] = r.available.value;
            body["needed"] = r.priced.quote.tokens.value;
            body["available"] = r.available.value;
            body["quote"] = quote_to_json(r.priced);
            return json_response(402, body);
        }
        case SubmitOutcome::Busy: {
            Response busy = error_response("busy", "too many jobs in flight; retry shortly");
            busy.headers.emplace_back("Retry-After", "1");
            return busy;
        }
        case SubmitOutcome::Accepted:
            break;
    }
    nlohmann::json quote = quote_to_json(r.priced);
    return json_response(202, {{"job_id", r.job_id},
                               {"state", "dispatched"},
                               {"tokens", r.priced.quote.tokens.value},
                               {"breakdown", quote["breakdown"]},
                               {"quote", quote},
                               {"available", r.available.value},
                               {"status_url", "/v1/jobs/" + r.job_id}});
}

Response Api::get_job(const std::string& job_id, const std::string& account_id, bool result) {
    auto job = jobs_.get(job_id);
    if (!job.ok()) return error_response(job.error());
    // Another account's job answers exactly like a missing one.
    if (!job->has_value() || (*job)->account_id != account_id) return not_found();
    const jobs::Job& j = **job;
    if (!result) return json_response(200, job_to_json(j));
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

Response Api::get_account(const std::string& account_id) {
    auto balance = ledger_.balance(account_id);
    if (!balance.ok()) return error_response(balance.error());
    nlohmann::json body = balance_to_json(*balance);
    body["account_id"] = account_id;
    return json_response(200, body);
}

Response Api::admin(const Request& request) {
    std::string token = bearer_token(request);
    if (options_.admin_token.empty() || token.empty() ||
        !core::constant_time_equal(token, options_.admin_token)) {
        return error_response("unauthorized", "admin routes need the admin token");
    }
    const std::vector<std::string> seg = segments(request.path);
    if (request.method != "POST") return error_response("method_not_allowed", "use POST");
    if (seg.size() == 2 && seg[1] == "accounts") {
        auto body = json_body(request);
        if (!body.ok()) return error_response(body.error());
        if (!body->contains("name") || !(*body)["name"].is_string()) {
            return error_response("invalid_name", "'name' must be a string");
        }
        auto id = ledger_.create_account((*body)["name"].get<std::string>());
        if (!id.ok()) return error_response(id.error());
        return json_response(201, {{"account_id", *id}});
    }
    if (seg.size() == 4 && seg[1] == "accounts" && seg[3] == "keys") {
        auto key = ledger_.create_api_key(seg[2]);
        if (!key.ok()) return error_response(key.error());
        return json_response(201, {{"account_id", seg[2]}, {"api_key", *key}});
    }
    if (seg.size() == 4 && seg[1] == "accounts" && seg[3] == "grants") {
        auto body = json_body(request);
        if (!body.ok()) return error_response(body.error());
        const nlohmann::json& tokens = (*body)["tokens"];
        if (!tokens.is_number_integer()) {
            return error_response("invalid_tokens", "'tokens' must be a positive integer");
        }
        std::string reason;
        if (body->contains("reason")) {
            if (!(*body)["reason"].is_string()) {
                return error_response("invalid_reason", "'reason' must be a string");
            }
            reason = (*body)["reason"].get<std::string>();
        }
        auto entry = ledger_.grant(seg[2], core::Tokens(tokens.get<std::int64_t>()), reason);
        if (!entry.ok()) return error_response(entry.error());
        auto balance = ledger_.balance(seg[2]);
        if (!balance.ok()) return error_response(balance.error());
        nlohmann::json out = balance_to_json(*balance);
        out["entry_id"] = *entry;
        out["account_id"] = seg[2];
        return json_response(201, out);
    }
    return not_found();
}

}  // namespace tollgate::http
