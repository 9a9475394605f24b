#include "http/api/facade/facade_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "core/hash.h"
#include "core/ids.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "http/api/facade/comfy_json.h"
#include "http/client/http_client.h"
#include "http/codec/multipart.h"
#include "http/codec/query.h"
#include "http/codec/url.h"
#include "image/probe.h"

namespace tollgate::http::facade {
namespace {

constexpr std::size_t kHistoryDefault = 200;
constexpr std::size_t kQueueScanned = 200;  // newest prompts /queue and /interrupt look at
constexpr int kUploadPartsMax = 16;
constexpr int kPassThroughTimeoutMs = 10'000;
constexpr std::size_t kPassThroughBytesMax = 16 * 1024 * 1024;
constexpr std::size_t kClientIdBytesMax = 128;

const char* const kRoutes[] = {"prompt",    "upload",      "history",      "view", "queue",
                               "interrupt", "object_info", "system_stats", "ws"};

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> seg;
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t slash = std::min(path.find('/', start), path.size());
        if (slash > start) seg.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    if (!seg.empty() && seg[0] == "api") seg.erase(seg.begin());
    return seg;
}

// An answer of ours in ComfyUI's error shape, with the same status.
Response comfy(const Response& ours) {
    nlohmann::json body = nlohmann::json::parse(ours.body, nullptr, false);
    std::string code = "internal", message;
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
        code = body["error"].value("code", code);
        message = body["error"].value("message", "");
    }
    nlohmann::json out = comfy_error(code, message);
    if (body.is_object()) {
        for (const auto& [key, value] : body["error"].items()) {
            if (key != "code" && key != "message") out["error"][key] = value;
        }
    }
    Response r = json_response(ours.status, out);
    r.headers = ours.headers;
    return r;
}

Response comfy_error_response(const core::Error& error) { return comfy(error_response(error)); }
Response comfy_error_response(std::string_view code, std::string_view message) {
    return comfy(error_response(code, message));
}

Response empty_ok() {
    Response r;
    r.status = 200;
    r.content_type = "application/json";
    return r;
}

bool valid_client_id(const std::string& id) {
    if (id.size() > kClientIdBytesMax) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lowercase hex, as ComfyUI requires.
bool canonical_uuid(const std::string& id) {
    if (id.size() != 36) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        const char c = id[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

std::optional<std::size_t> parse_size(const std::string& text) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

FacadeApi::FacadeApi(JobService& service, jobs::JobStore& jobs, const core::Clock& clock,
                     FacadeOptions options, FacadeAuth auth, ResultReader result)
    : service_(service),
      jobs_(jobs),
      options_(std::move(options)),
      auth_(std::move(auth)),
      result_(std::move(result)),
      files_(std::filesystem::path(service.results_dir()) / "facade"),
      hub_(
          [&jobs](const std::string& id) -> std::optional<jobs::Job> {
              auto job = jobs.get(id);
              if (!job.ok() || !job->has_value()) return std::nullopt;
              return **job;
          },
          clock) {}

bool FacadeApi::serves(const std::string& path) {
    const std::vector<std::string> seg = split_path(path);
    if (seg.empty()) return false;
    return std::find(std::begin(kRoutes), std::end(kRoutes), seg[0]) != std::end(kRoutes);
}

Response FacadeApi::in_comfy_shape(const Response& ours) { return comfy(ours); }

Request FacadeApi::with_token(const Request& request) {
    if (!request.header("authorization").empty()) return request;
    auto query = parse_query(request.query);
    const std::string& token = query["token"];
    if (token.empty()) return request;
    Request out = request;
    out.headers["authorization"] = "Bearer " + token;
    return out;
}

Response FacadeApi::handle(const Request& request) {
    const Request keyed = with_token(request);
    auto caller = auth_(keyed);
    if (Response* refused = std::get_if<Response>(&caller)) return comfy(*refused);
    return route(keyed, std::get<FacadeCaller>(caller).account_id, split_path(request.path));
}

Response FacadeApi::route(const Request& request, const std::string& account_id,
                          const std::vector<std::string>& seg) {
    const std::string& m = request.method;
    const std::string& head = seg[0];
    auto wrong_method = [](const char* allowed) {
        return comfy_error_response("method_not_allowed", std::string("use ") + allowed);
    };
    if (head == "prompt" && seg.size() == 1) {
        if (m == "POST") return post_prompt(request, account_id);
        return m == "GET" ? get_prompt_info(account_id) : wrong_method("GET or POST");
    }
    if (head == "upload" && seg.size() == 2 && seg[1] == "image") {
        return m == "POST" ? upload_image(request, account_id) : wrong_method("POST");
    }
    if (head == "history" && seg.size() <= 2) {
        if (m == "POST" && seg.size() == 1) return empty_ok();  // clear/delete: kept as records
        return m == "GET" ? history(request, account_id, seg.size() == 2 ? seg[1] : "")
                          : wrong_method("GET");
    }
    if (head == "view" && seg.size() == 1) {
        return m == "GET" ? view(request, account_id) : wrong_method("GET");
    }
    if (head == "queue" && seg.size() == 1) {
        if (m == "POST") return change_queue(request, account_id);
        return m == "GET" ? queue(account_id) : wrong_method("GET or POST");
    }
    if (head == "interrupt" && seg.size() == 1) {
        return m == "POST" ? interrupt(request, account_id) : wrong_method("POST");
    }
    if (head == "object_info" && seg.size() <= 2) {
        return m == "GET"
                   ? pass_through(seg.size() == 2 ? "/object_info/" + seg[1] : "/object_info")
                   : wrong_method("GET");
    }
    if (head == "system_stats" && seg.size() == 1) {
        return m == "GET" ? pass_through("/system_stats") : wrong_method("GET");
    }
    if (head == "ws") {
        return comfy_error_response("bad_request", "/ws is a WebSocket: send an upgrade request");
    }
    return comfy(no_route());
}

Response FacadeApi::post_prompt(const Request& request, const std::string& account_id) {
    if (request.body.size() > kPromptBytesMax) {
        return comfy_error_response("payload_too_large", "a prompt is at most 1 MiB");
    }
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object() || !body.contains("prompt")) {
        return comfy_error_response("no_prompt", "the body is a JSON object with a \"prompt\"");
    }
    std::string client_id;
    if (body.contains("client_id") && !body["client_id"].is_null()) {
        if (!body["client_id"].is_string() || !valid_client_id(body["client_id"])) {
            return comfy_error_response("bad_request",
                                        "client_id is at most 128 characters of A-Z a-z 0-9 _ - .");
        }
        client_id = body["client_id"];
    }
    // A client-chosen prompt_id (newer ComfyUI clients send one) makes a
    // retried POST idempotent: it is the job's Idempotency-Key, so the retry
    // gets the same prompt and no second hold. The answer's prompt_id is
    // still the gateway's, as older ComfyUI servers answer.
    std::string idempotency_key;
    if (body.contains("prompt_id") && !body["prompt_id"].is_null()) {
        if (!body["prompt_id"].is_string() || !canonical_uuid(body["prompt_id"])) {
            return comfy_error_response("invalid_prompt_id",
                                        "prompt_id is a lowercase canonical UUID");
        }
        idempotency_key = "comfyui-prompt:" + body["prompt_id"].get<std::string>();
    }
    auto book = service_.books().current();
    auto priced = price_prompt(body["prompt"], options_.rules, *book);
    if (!priced.ok()) return comfy_error_response(priced.error());
    auto bytes = files_.read_upload(account_id, priced->image_ref);
    if (!bytes.ok()) return comfy_error_response(bytes.error());

    JobRequest job;
    job.workflow = priced->workflow;
    job.quality = priced->quality;
    job.upscale_factor = priced->upscale_factor;
    job.graph = priced->graph;
    job.graph_sha256 = core::sha256_hex(body["prompt"].dump());
    auto submitted = service_.submit(account_id, job, std::move(bytes).value(), idempotency_key);
    if (!submitted.ok()) return comfy_error_response(submitted.error());
    const SubmitResult& r = *submitted;
    switch (r.outcome) {
        case SubmitOutcome::Accepted:
        case SubmitOutcome::Replayed:
            break;
        case SubmitOutcome::InsufficientBalance: {
            Response refused = comfy_error_response("insufficient_balance",
                                                    "the balance does not cover this prompt");
            nlohmann::json out = nlohmann::json::parse(refused.body);
            out["error"]["needed"] = r.priced.quote.tokens.value;
            out["error"]["available"] = r.available.value;
            return json_response(402, out);
        }
        case SubmitOutcome::Duplicate:
            return comfy_error_response("duplicate", "this prompt repeats job " + r.dedupe.of);
        case SubmitOutcome::FairUseExceeded:
            return comfy(
                retry_later("fair_use_exceeded",
                            "the plan's fair-use limit " + r.fair_use.limit + " is reached",
                            std::max<std::int64_t>(1, r.fair_use.retry_after_s)));
        case SubmitOutcome::TooManyJobs:
            return comfy(retry_later("too_many_jobs", "too many unfinished prompts", 1));
        case SubmitOutcome::TenantBusy:
            return comfy(retry_later("tenant_busy", "the tenant's prompts fill its share", 1));
        case SubmitOutcome::Busy:
            return comfy(retry_later("busy", "every worker slot is taken", 1));
        case SubmitOutcome::IdempotencyMismatch:
            return comfy_error_response("idempotency_key_reused",
                                        "this prompt_id was sent before with another prompt");
    }
    const std::int64_t number = number_.fetch_add(1);
    const std::string output_node = priced->graph->save_image_node_ids().front();
    nlohmann::json extra = body.value("extra_data", nlohmann::json::object());
    if (!extra.is_object()) extra = nlohmann::json::object();
    extra.erase("auth_token_comfy_org");
    extra.erase("api_key_comfy_org");
    if (!client_id.empty()) extra["client_id"] = client_id;
    extra["create_time"] = r.priced.quote.at_unix_ms;
    const nlohmann::json record = {{"number", number},
                                   {"prompt_id", r.job_id},
                                   {"prompt", body["prompt"]},
                                   {"extra_data", extra},
                                   {"outputs_to_execute", priced->graph->save_image_node_ids()},
                                   {"client_id", client_id},
                                   {"workflow", priced->workflow},
                                   {"matched", priced->matched},
                                   {"output_node", output_node}};
    if (core::Status kept = files_.put_prompt(account_id, r.job_id, record); !kept.ok()) {
        // The job runs and settles whatever happens here; only /history and
        // /queue would not list it.
        spdlog::error("facade: prompt {}: {}", r.job_id, kept.error().message);
    }
    hub_.track(r.job_id, account_id, client_id, output_node);
    spdlog::info("facade: prompt {} of {} priced as {} by {}: {} tokens", r.job_id, account_id,
                 priced->workflow, priced->matched, r.priced.quote.tokens.value);
    return json_response(200, {{"prompt_id", r.job_id},
                               {"number", number},
                               {"node_errors", nlohmann::json::object()},
                               {"tokens", r.priced.quote.tokens.value}});
}

std::vector<std::pair<nlohmann::json, jobs::Job>> FacadeApi::prompts_of(
    const std::string& account_id, std::size_t limit) {
    std::vector<std::pair<nlohmann::json, jobs::Job>> out;
    auto ids = files_.prompt_ids(account_id, limit);
    if (!ids.ok()) return out;
    for (const std::string& id : *ids) {
        auto record = files_.get_prompt(account_id, id);
        auto job = jobs_.get(id);
        if (!record.ok() || !record->has_value() || !job.ok() || !job->has_value()) continue;
        if ((**job).account_id != account_id) continue;
        out.emplace_back(std::move(**record), std::move(**job));
    }
    return out;
}

Response FacadeApi::get_prompt_info(const std::string& account_id) {
    std::int64_t remaining = 0;
    for (const auto& [record, job] : prompts_of(account_id, kQueueScanned)) {
        remaining += jobs::is_final(job.state) ? 0 : 1;
    }
    return json_response(200, {{"exec_info", {{"queue_remaining", remaining}}}});
}

Response FacadeApi::upload_image(const Request& request, const std::string& account_id) {
    auto parts = parse_multipart(request.body, request.header("content-type"), kUploadPartsMax,
                                 static_cast<std::int64_t>(request.body.size()));
    if (!parts.ok()) return comfy_error_response(parts.error());
    // ComfyUI reads "image"; "file" (or any file part) serves clients
    // written for other upload APIs, as the native routes do.
    const MultipartPart* image = find_part(*parts, "image");
    if (image == nullptr) image = find_part(*parts, "file");
    for (const MultipartPart& part : *parts) {
        if (image == nullptr && !part.filename.empty()) image = &part;
    }
    if (image == nullptr || image->filename.empty()) {
        return comfy_error_response("bad_request", "the form needs a file part named \"image\"");
    }
    auto text = [&](const char* name) {
        const MultipartPart* p = find_part(*parts, name);
        return p == nullptr ? std::string() : p->data;
    };
    const std::string type = text("type");
    if (!type.empty() && type != "input") {
        return comfy_error_response("invalid_upload",
                                    "the facade keeps input images only (type \"input\")");
    }
    // Only images are worth keeping: they are what a prompt is priced from.
    auto info = image::probe(image->data);
    if (!info.ok()) return comfy_error_response(info.error());
    const std::string overwrite = text("overwrite");
    auto stored = files_.put_upload(account_id, text("subfolder"), image->filename, image->data,
                                    overwrite == "true" || overwrite == "1");
    if (!stored.ok()) return comfy_error_response(stored.error());
    return json_response(
        200, {{"name", stored->name}, {"subfolder", stored->subfolder}, {"type", "input"}});
}

Response FacadeApi::history(const Request& request, const std::string& account_id,
                            const std::string& one) {
    nlohmann::json out = nlohmann::json::object();
    if (!one.empty()) {
        auto record = files_.get_prompt(account_id, one);
        if (!record.ok()) return comfy_error_response(record.error());
        auto job = jobs_.get(one);
        if (!job.ok()) return comfy_error_response(job.error());
        if (record->has_value() && job->has_value() && (**job).account_id == account_id &&
            jobs::is_final((**job).state)) {
            out[one] = history_entry(**record, **job);
        }
        return json_response(200, out);
    }
    auto query = parse_query(request.query);
    std::size_t max_items = kHistoryDefault;
    if (!query["max_items"].empty()) {
        auto n = parse_size(query["max_items"]);
        if (!n) return comfy_error_response("bad_request", "max_items is a whole number");
        max_items = std::min(*n, kPromptsListedMax);
    }
    for (const auto& [record, job] : prompts_of(account_id, kPromptsListedMax)) {
        if (jobs::is_final(job.state)) out[job.id] = history_entry(record, job);
    }
    while (out.size() > max_items) out.erase(out.begin());
    return json_response(200, out);
}

Response FacadeApi::view(const Request& request, const std::string& account_id) {
    auto query = parse_query(request.query);
    const std::string& filename = query["filename"];
    const std::string type = query["type"].empty() ? "output" : query["type"];
    if (filename.empty()) return comfy(not_found());
    if (filename.front() == '/' || filename.find("..") != std::string::npos) {
        return comfy_error_response("bad_request", "filename is a plain name");
    }
    if (type == "input") {
        const std::string& sub = query["subfolder"];
        auto bytes = files_.read_upload(account_id, sub.empty() ? filename : sub + "/" + filename);
        if (!bytes.ok()) return comfy(not_found());
        auto info = image::probe(*bytes);
        Response r;
        r.status = 200;
        r.content_type =
            info.ok() ? std::string(image::mime_type(info->format)) : "application/octet-stream";
        r.body = std::move(bytes).value();
        return r;
    }
    if (type != "output") return comfy_error_response("bad_request", "type is output or input");
    const auto id = job_of_output(filename);
    if (!id) return comfy(not_found());
    auto job = jobs_.get(*id);
    if (!job.ok()) return comfy_error_response(job.error());
    if (!job->has_value() || (**job).account_id != account_id ||
        (**job).state != jobs::JobState::Succeeded) {
        return comfy(not_found());
    }
    Response r = result_(**job);
    if (r.status != 200) return comfy(r);
    r.headers.emplace_back("Content-Disposition", "filename=\"" + filename + "\"");
    return r;
}

Response FacadeApi::queue(const std::string& account_id) {
    nlohmann::json running = nlohmann::json::array();
    nlohmann::json pending = nlohmann::json::array();
    for (const auto& [record, job] : prompts_of(account_id, kQueueScanned)) {
        if (jobs::is_final(job.state)) continue;
        (job.prompt_id.empty() ? pending : running).push_back(queue_item(record));
    }
    return json_response(200, {{"queue_running", running}, {"queue_pending", pending}});
}

Response FacadeApi::change_queue(const Request& request, const std::string& account_id) {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object()) return comfy_error_response("invalid_json", "the body is a JSON object");
    std::vector<std::string> targets;
    const bool clear = body.value("clear", false);
    if (body.contains("delete") && body["delete"].is_array()) {
        for (const auto& id : body["delete"]) {
            if (id.is_string() && targets.size() < kQueueScanned) targets.push_back(id);
        }
    }
    for (const auto& [record, job] : prompts_of(account_id, kQueueScanned)) {
        if (jobs::is_final(job.state) || !job.prompt_id.empty()) continue;  // pending only
        if (clear || std::find(targets.begin(), targets.end(), job.id) != targets.end()) {
            (void)service_.cancel(account_id, job.id);
        }
    }
    return empty_ok();
}

Response FacadeApi::interrupt(const Request& request, const std::string& account_id) {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    std::string only;
    if (body.is_object() && body.contains("prompt_id") && body["prompt_id"].is_string()) {
        only = body["prompt_id"];
    }
    for (const auto& [record, job] : prompts_of(account_id, kQueueScanned)) {
        if (jobs::is_final(job.state) || job.prompt_id.empty()) continue;  // running only
        if (only.empty() || only == job.id) (void)service_.cancel(account_id, job.id);
    }
    return empty_ok();
}

Response FacadeApi::pass_through(const std::string& target) {
    static const std::unique_ptr<HttpClient> client = make_http_client(Reach::Anywhere);
    for (const std::string& base : options_.worker_urls) {
        auto url = parse_http_url(base, 2048);
        if (!url.ok()) continue;
        HttpPost get;
        get.url = *url;
        get.url.target = target;
        get.timeout_ms = kPassThroughTimeoutMs;
        get.answer_bytes_max = kPassThroughBytesMax;
        auto answer = client->get(get);
        if (!answer.ok() || answer->status != 200) continue;
        Response r;
        r.status = 200;
        r.body = std::move(answer->body);
        return r;
    }
    return comfy_error_response("worker_unreachable", "no worker answered " + target);
}

std::optional<Response> FacadeApi::accept_ws(const Request& request) {
    const std::vector<std::string> seg = split_path(request.path);
    if (seg.size() != 1 || seg[0] != "ws") return comfy(not_found());
    auto caller = auth_(with_token(request));
    if (Response* refused = std::get_if<Response>(&caller)) return comfy(*refused);
    auto query = parse_query(request.query);
    if (!valid_client_id(query["clientId"])) {
        return comfy_error_response("bad_request",
                                    "clientId is at most 128 characters of A-Z a-z 0-9 _ - .");
    }
    return std::nullopt;
}

void FacadeApi::open_ws(const std::shared_ptr<WsSession>& session, const Request& request) {
    auto caller = auth_(with_token(request));
    if (std::holds_alternative<Response>(caller)) {
        session->close();
        return;
    }
    auto query = parse_query(request.query);
    std::string client_id = query["clientId"];
    if (client_id.empty()) client_id = core::random_hex(16);
    if (!hub_.open(session, std::get<FacadeCaller>(caller).account_id, client_id)) {
        session->close();
    }
}

void FacadeApi::close_ws(const std::shared_ptr<WsSession>& session) { hub_.close(session); }

}  // namespace tollgate::http::facade
