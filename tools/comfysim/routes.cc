// Route table for the emulated ComfyUI. Dispatch is a plain if-chain on the
// path with the "/api" prefix removed: about fifteen routes do not justify a
// router. Bodies and status codes follow ComfyUI's server.py, including its
// less obvious answers: invalid JSON is a 500, empty-bodied 200s for the
// command routes, {} for an unknown history id or node class, and aiohttp's
// text bodies for 404/405/500.
#include "comfysim/routes.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <iterator>

#include "comfysim/image_ops.h"
#include "core/ids.h"
#include "http/codec/multipart.h"
#include "http/codec/query.h"

namespace tollgate::comfysim {
namespace {

constexpr int kUploadPartsMax = 16;

std::string dump(const Json& j) { return j.dump(-1, ' ', true, Json::error_handler_t::replace); }

http::Response json_response(const Json& body, int status = 200) {
    http::Response r;
    r.status = status;
    r.content_type = "application/json; charset=utf-8";
    r.body = dump(body);
    return r;
}

http::Response text_response(int status, std::string text) {
    http::Response r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(text);
    return r;
}

http::Response empty_response(int status = 200) {
    http::Response r;
    r.status = status;
    r.content_type = "application/octet-stream";
    return r;
}

// aiohttp's answers for errors it produces itself.
http::Response not_found() { return text_response(404, "404: Not Found"); }
http::Response not_allowed() { return text_response(405, "405: Method Not Allowed"); }
http::Response server_error() {
    return text_response(500, "500 Internal Server Error\n\nServer got itself in trouble");
}

http::Response from_reply(const Reply& reply) {
    if (reply.status == 500 && reply.body.is_null()) return server_error();
    if (reply.body.is_null()) return empty_response(reply.status);
    return json_response(reply.body, reply.status);
}

// The hostname of a Host header value or an Origin URL, lowercased.
std::string hostname_of(std::string value, bool is_url) {
    if (is_url) {
        auto scheme = value.find("://");
        if (scheme != std::string::npos) value = value.substr(scheme + 3);
        value = value.substr(0, value.find('/'));
    }
    if (!value.empty() && value[0] == '[') {
        value = value.substr(
            1, value.find(']') == std::string::npos ? std::string::npos : value.find(']') - 1);
    } else if (std::count(value.begin(), value.end(), ':') == 1) {
        value = value.substr(0, value.find(':'));
    }
    for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return value;
}

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// ComfyUI's origin-only middleware: a loopback Host with a foreign Origin is refused.
bool origin_refused(const http::Request& request) {
    const std::string& host = request.header("host");
    const std::string& origin = request.header("origin");
    if (host.empty() || origin.empty()) return false;
    const std::string h = hostname_of(host, false);
    return is_loopback(h) && h != hostname_of(origin, true);
}

std::optional<std::string> query_value(const std::map<std::string, std::string>& q,
                                       const std::string& key) {
    auto it = q.find(key);
    if (it == q.end()) return std::nullopt;
    return it->second;
}

// Python int(): surrounding whitespace allowed, nothing else.
std::optional<std::int64_t> parse_int(const std::string& s) {
    std::size_t i = 0;
    try {
        const std::int64_t v = std::stoll(s, &i);
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        if (i == s.size()) return v;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

}  // namespace

http::ServerOptions server_options(const AppOptions& options, http::ServerOptions base) {
    base.body_bytes_max = options.upload_bytes_max;
    base.throttled_body_bytes_per_second = options.upload_bytes_per_second;
    if (options.upload_bytes_per_second > 0) {
        base.throttle_body = [](const http::Request& request) {
            return request.method == "POST" &&
                   (request.path == "/upload/image" || request.path == "/api/upload/image");
        };
    }
    return base;
}

Json server_feature_flags() {
    return {
        {"supports_preview_metadata", true}, {"supports_model_type_tags", true},
        {"max_upload_size", 104857600},      {"extension", {{"manager", {{"supports_v4", true}}}}},
        {"node_replacements", true},         {"assets", true}};
}

void WsHub::send(const std::string& type, const Json& data, const std::optional<std::string>& sid) {
    const std::string text = dump(Json{{"type", type}, {"data", data}});
    std::lock_guard lock(mu_);
    if (!sid) {
        for (const auto& [id, session] : by_sid_) session->send_text(text);
        return;
    }
    if (auto it = by_sid_.find(*sid); it != by_sid_.end()) it->second->send_text(text);
}

void WsHub::close_all() {
    std::lock_guard lock(mu_);
    for (const auto& [sid, session] : by_sid_) session->close();
    by_sid_.clear();
    sessions_.clear();
}

void WsHub::attach(const std::string& sid, const std::shared_ptr<http::WsSession>& session,
                   const std::string& first) {
    std::lock_guard lock(mu_);
    by_sid_[sid] = session;
    sessions_[session.get()] = Info{sid, true};
    session->send_text(first);
}

void WsHub::detach(const std::shared_ptr<http::WsSession>& session) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session.get());
    if (it == sessions_.end()) return;
    // Only the registered socket leaves the table: a replaced socket closing
    // must not cut off its replacement.
    auto current = by_sid_.find(it->second.sid);
    if (current != by_sid_.end() && current->second == session) by_sid_.erase(current);
    sessions_.erase(it);
}

std::optional<std::pair<std::string, bool>> WsHub::take_first(const http::WsSession* session) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return std::nullopt;
    const bool first = std::exchange(it->second.first_message, false);
    return std::make_pair(it->second.sid, first);
}

std::size_t WsHub::size() const {
    std::lock_guard lock(mu_);
    return by_sid_.size();
}

App::App(AppOptions options, const core::Clock& clock)
    : options_(std::move(options)),
      table_(options_.nodes),
      storage_(options_.data_dir),
      sim_(options_.sim, table_, storage_, hub_, clock) {
    init_vips();
}

App::~App() { sim_.stop(); }

http::Response App::handle(const http::Request& request) {
    try {
        if (origin_refused(request)) return empty_response(403);
        std::string path = request.path;
        if (path == "/api" || path.rfind("/api/", 0) == 0) path = path.substr(4);
        return route(request, path);
    } catch (const std::exception& e) {
        // ComfyUI lets exceptions (bad JSON above all) become aiohttp's 500.
        spdlog::warn("comfysim: {} {} failed: {}", request.method, request.path, e.what());
        return server_error();
    }
}

http::Response App::route(const http::Request& request, const std::string& path) {
    const std::string& m = request.method;
    const bool get = m == "GET" || m == "HEAD";
    const bool post = m == "POST";
    if (path == "/prompt") {
        if (get) return json_response(sim_.queue_info());
        if (post) return from_reply(sim_.submit(Json::parse(request.body)));
        return not_allowed();
    }
    if (path == "/upload/image") return post ? upload_image(request) : not_allowed();
    if (path == "/view") return get ? view(request) : not_allowed();
    if (path == "/queue") {
        if (get) return json_response(sim_.queue_view());
        if (!post) return not_allowed();
        sim_.queue_command(Json::parse(request.body));
        return empty_response();
    }
    if (path == "/interrupt") {
        if (!post) return not_allowed();
        const Json body = Json::parse(request.body, nullptr, false);
        std::string id;
        if (body.is_object() && body.contains("prompt_id") && body["prompt_id"].is_string()) {
            id = body["prompt_id"].get<std::string>();
        }
        sim_.interrupt(id);
        return empty_response();
    }
    if (path == "/history" || path.rfind("/history/", 0) == 0) {
        if (get) return history_get(request, path);
        if (!post || path != "/history") return not_allowed();
        sim_.history_command(Json::parse(request.body));
        return empty_response();
    }
    if (path == "/free") {
        if (!post) return not_allowed();
        // ComfyUI parses the body (bad JSON is a 500, and so is a non-object)
        // and only sets flags for its worker.
        const Json flags = Json::parse(request.body);
        if (!flags.is_object()) return server_error();
        sim_.free(flags);
        return empty_response();
    }
    if (path == "/object_info") {
        return get ? json_response(table_.object_info_all(storage_.input_files())) : not_allowed();
    }
    if (path.rfind("/object_info/", 0) == 0) {
        if (!get) return not_allowed();
        Json out = Json::object();
        const std::string name = path.substr(std::string("/object_info/").size());
        if (const NodeSpec* spec = table_.find(name)) {
            out[name] = NodeTable::object_info(*spec, storage_.input_files());
        }
        return json_response(out);
    }
    if (path == "/system_stats") return get ? system_stats() : not_allowed();
    if (path == "/features") return get ? json_response(server_feature_flags()) : not_allowed();
    if (path == "/embeddings" || path == "/extensions") {
        return get ? json_response(Json::array()) : not_allowed();
    }
    if (path == "/ws") return text_response(400, "No WebSocket UPGRADE hdr: None");
    if (path == "/" && get) {
        http::Response r = text_response(200, "comfysim: a ComfyUI emulator (no web UI)\n");
        return r;
    }
    return not_found();
}

http::Response App::history_get(const http::Request& request, const std::string& path) {
    if (path != "/history") {
        return json_response(sim_.history_item(path.substr(std::string("/history/").size())));
    }
    const auto q = http::parse_query(request.query);
    std::optional<std::int64_t> max_items;
    std::int64_t offset = -1;
    if (auto v = query_value(q, "max_items")) {
        max_items = parse_int(*v);
        if (!max_items) return server_error();
    }
    if (auto v = query_value(q, "offset")) {
        auto o = parse_int(*v);
        if (!o) return server_error();
        offset = *o;
    }
    return json_response(sim_.history(max_items, offset));
}

http::Response App::upload_image(const http::Request& request) {
    UploadRequest up;
    auto parts = http::parse_multipart(request.body, request.header("content-type"),
                                       kUploadPartsMax, options_.upload_bytes_max);
    if (!parts) return empty_response(400);
    if (const auto* t = http::find_part(*parts, "type")) up.type = t->data;
    if (const auto* s = http::find_part(*parts, "subfolder")) up.subfolder = s->data;
    if (const auto* o = http::find_part(*parts, "overwrite")) up.overwrite = o->data;
    if (const auto* image = http::find_part(*parts, "image")) {
        up.filename = image->filename;
        up.data = image->data;
    }
    return from_reply(storage_.upload(up));
}

http::Response App::view(const http::Request& request) {
    const auto q = http::parse_query(request.query);
    auto filename = query_value(q, "filename");
    if (!filename) return not_found();
    const ViewTarget target =
        storage_.locate_view(*filename, query_value(q, "type"), query_value(q, "subfolder"));
    if (target.status == 404) return not_found();
    if (target.status != 200) return empty_response(target.status);
    const std::string disposition = "filename=\"" + target.filename + "\"";
    const auto preview = query_value(q, "preview");
    const std::string channel_query = query_value(q, "channel").value_or("");
    const std::string channel = channel_query.empty() ? "rgba" : channel_query;
    if (preview || channel == "rgb" || channel == "a") {
        std::string format = "png";
        int quality = 90;
        if (preview) {
            format = preview->substr(0, preview->find(';'));
            const bool wants_alpha = channel_query.find('a') != std::string::npos;
            if ((format != "webp" && format != "jpeg") || wants_alpha) format = "webp";
            const std::string tail = preview->substr(preview->rfind(';') + 1);
            if (auto qv = parse_int(tail); qv && !tail.empty()) quality = static_cast<int>(*qv);
        }
        auto bytes = encode_for_view(target.path, format, quality,
                                     preview && channel != "rgb" ? "rgba" : channel);
        if (!bytes) return server_error();
        http::Response r;
        r.content_type = "image/" + format;
        r.body = std::move(*bytes);
        r.headers.emplace_back("Content-Disposition", disposition);
        return r;
    }
    std::ifstream in(target.path, std::ios::binary);
    if (!in) return not_found();
    http::Response r;
    r.content_type = guess_content_type(target.filename);
    r.body.assign(std::istreambuf_iterator<char>(in), {});
    r.headers.emplace_back("Content-Disposition", disposition);
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return r;
}

http::Response App::system_stats() const {
    Json system = {{"os", "linux"},
                   {"ram_total", 135089405952ll},
                   {"ram_free", 120512225280ll},
                   {"comfyui_version", "0.3.75"},
                   {"required_frontend_version", "1.30.6"},
                   {"installed_templates_version", "0.3.1"},
                   {"required_templates_version", "0.3.1"},
                   {"comfy_package_versions", Json::object()},
                   {"python_version", "3.12.3 (main, comfysim) [GCC 13.2.0]"},
                   {"pytorch_version", "2.8.0+cu128"},
                   {"embedded_python", false},
                   {"deploy_environment", "local-git"},
                   {"argv", Json::array({"main.py", "--listen", options_.listen_host})}};
    const DeviceStats vram = sim_.device_stats();
    const std::string card = vram.vram_total == kVramTotalBytesDefault
                                 ? "NVIDIA H100 80GB HBM3"
                                 : "comfysim GPU " + std::to_string(vram.vram_total >> 20) + " MiB";
    Json device = {{"name", "cuda:0 " + card + " : cudaMallocAsync"},
                   {"type", "cuda"},
                   {"index", 0},
                   {"vram_total", vram.vram_total},
                   {"vram_free", vram.vram_free},
                   {"torch_vram_total", vram.torch_vram_total},
                   {"torch_vram_free", vram.torch_vram_free}};
    return json_response({{"system", system}, {"devices", Json::array({device})}});
}

void App::ws_open(const std::shared_ptr<http::WsSession>& session, const http::Request& request) {
    const auto q = http::parse_query(request.query);
    std::string sid = query_value(q, "clientId").value_or("");
    if (sid.empty()) sid = core::random_hex(16);
    const Json first = {{"type", "status"},
                        {"data", {{"status", sim_.queue_info()}, {"sid", sid}}}};
    hub_.attach(sid, session, dump(first));
    if (auto node = sim_.executing_node_for(sid)) {
        session->send_text(dump(Json{{"type", "executing"}, {"data", {{"node", *node}}}}));
    }
}

void App::ws_message(const std::shared_ptr<http::WsSession>& session, const std::string& text) {
    const Json message = Json::parse(text, nullptr, false);
    if (message.is_discarded()) return;  // ComfyUI logs and keeps waiting for a first message
    auto info = hub_.take_first(session.get());
    if (!info || !info->second) return;
    if (message.is_object() && message.value("type", Json()) == "feature_flags") {
        session->send_text(dump(Json{{"type", "feature_flags"}, {"data", server_feature_flags()}}));
    }
}

http::WsHandlers App::ws_handlers() {
    http::WsHandlers ws;
    ws.accept = [](const http::Request& request) -> std::optional<http::Response> {
        if (request.path == "/ws" || request.path == "/api/ws") return std::nullopt;
        return not_found();
    };
    ws.on_open = [this](const std::shared_ptr<http::WsSession>& s, const http::Request& r) {
        ws_open(s, r);
    };
    ws.on_message = [this](const std::shared_ptr<http::WsSession>& s, const std::string& text) {
        ws_message(s, text);
    };
    ws.on_close = [this](const std::shared_ptr<http::WsSession>& s) { hub_.detach(s); };
    return ws;
}

}  // namespace tollgate::comfysim
