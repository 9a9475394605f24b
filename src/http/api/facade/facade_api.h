// The ComfyUI-compatible facade: ComfyUI's own routes, served to clients that
// carry an API key, so an existing ComfyUI client only changes its address
// and adds a key (docs/api.md, ComfyUI facade).
//
//   POST /upload/image   the account's input images (facade_files.h)
//   POST /prompt         priced from the graph (prompt_rules.h), held and
//                        dispatched as a job whose id is the prompt id
//   GET  /prompt, /queue, /history[/{id}], /view
//   POST /queue, /interrupt, /history
//   GET  /object_info[/{class}], /system_stats   a worker's, passed through
//   GET  /ws?clientId=   the account's prompts' events (facade_hub.h)
// each also under /api. The key comes as Authorization: Bearer or, for
// clients that only set a URL, ?token=. Every view shows the caller's own
// prompts only. Errors keep ComfyUI's shape ({"error": {"type", ...},
// "node_errors": {}}) with the gateway's code and status.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "http/api/facade/facade_files.h"
#include "http/api/facade/facade_hub.h"
#include "http/api/facade/prompt_rules.h"
#include "http/api/job_service.h"
#include "http/server/server.h"
#include "jobs/job_store.h"

namespace tollgate::http::facade {

// The caller of a facade route (authenticated, scope and rate checked), or
// the answer that refuses it.
struct FacadeCaller {
    std::string account_id;
};
using FacadeAuth = std::function<std::variant<FacadeCaller, Response>(const Request&)>;
// A succeeded job's result file as the native API serves it.
using ResultReader = std::function<Response(const jobs::Job&)>;

class FacadeApi {
  public:
    FacadeApi(JobService& service, jobs::JobStore& jobs, const core::Clock& clock,
              FacadeOptions options, FacadeAuth auth, ResultReader result);

    // Whether `path` is a facade route ("/prompt", "/api/prompt", ...).
    static bool serves(const std::string& path);
    // `ours`, an answer in the gateway's error shape, in ComfyUI's (same
    // status and headers).
    static Response in_comfy_shape(const Response& ours);
    Response handle(const Request& request);

    // /ws upgrades: accept (the key), open, close.
    std::optional<Response> accept_ws(const Request& request);
    void open_ws(const std::shared_ptr<WsSession>& session, const Request& request);
    void close_ws(const std::shared_ptr<WsSession>& session);

    FacadeHub& hub() { return hub_; }

  private:
    Response route(const Request& request, const std::string& account_id,
                   const std::vector<std::string>& seg);
    Response post_prompt(const Request& request, const std::string& account_id);
    Response get_prompt_info(const std::string& account_id);
    Response upload_image(const Request& request, const std::string& account_id);
    Response history(const Request& request, const std::string& account_id, const std::string& one);
    Response view(const Request& request, const std::string& account_id);
    Response queue(const std::string& account_id);
    Response change_queue(const Request& request, const std::string& account_id);
    Response interrupt(const Request& request, const std::string& account_id);
    Response pass_through(const std::string& target);
    // The account's newest prompts with their jobs (records without a job left out).
    std::vector<std::pair<nlohmann::json, jobs::Job>> prompts_of(const std::string& account_id,
                                                                 std::size_t limit);
    // The request with ?token= moved into Authorization, when it has one.
    static Request with_token(const Request& request);

    JobService& service_;
    jobs::JobStore& jobs_;
    FacadeOptions options_;
    FacadeAuth auth_;
    ResultReader result_;
    FacadeFiles files_;
    FacadeHub hub_;
    std::atomic<std::int64_t> number_{0};
};

}  // namespace tollgate::http::facade
