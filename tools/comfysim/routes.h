// comfysim's HTTP and WebSocket surface: ComfyUI's routes over Storage + Sim.
//
// App turns an http::Request into an http::Response with ComfyUI's status
// codes and bodies (every route also under /api), and WsHub keeps ComfyUI's
// socket table: one socket per clientId, a newer one replacing the older.
// Nothing here touches Asio; the server in src/http/server calls in.
// Thread-safe: handlers run on the server's I/O threads.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "comfysim/node_table.h"
#include "comfysim/sim_state.h"
#include "comfysim/storage.h"
#include "http/server/server.h"

namespace tollgate::comfysim {

// The server-side feature flags, as ComfyUI's feature_flags.py sends them.
Json server_feature_flags();

class WsHub final : public EventSink {
  public:
    void send(const std::string& type, const Json& data,
              const std::optional<std::string>& sid) override;
    // Closes every registered socket and forgets it. (A socket replaced by a
    // newer one with its clientId already hears nothing and stays as it is.)
    void close_all() override;

    // Registers `session` as `sid` (replacing an older socket) and sends it
    // `first` before any event can reach it.
    void attach(const std::string& sid, const std::shared_ptr<http::WsSession>& session,
                const std::string& first);
    void detach(const std::shared_ptr<http::WsSession>& session);
    // The session's sid, and whether this is its first text frame (then clears it).
    std::optional<std::pair<std::string, bool>> take_first(const http::WsSession* session);
    std::size_t size() const;

  private:
    struct Info {
        std::string sid;
        bool first_message = true;
    };
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<http::WsSession>> by_sid_;
    std::map<const http::WsSession*, Info> sessions_;
};

struct AppOptions {
    std::filesystem::path data_dir;
    // The node classes served: the built-in table plus any `--nodes` files.
    NodeTable nodes = NodeTable::standard();
    SimOptions sim;
    std::int64_t upload_bytes_max = 100ll * 1024 * 1024;  // ComfyUI's --max-upload-size
    // The slow-upload fault: /upload/image bodies are read no faster than
    // this (bytes per second); 0 reads them as fast as they come.
    std::int64_t upload_bytes_per_second = 0;
    std::string listen_host = "127.0.0.1";
};

// The server options an App needs on top of `base`: its body limit and the
// slow-upload throttle.
http::ServerOptions server_options(const AppOptions& options, http::ServerOptions base = {});

class App {
  public:
    App(AppOptions options, const core::Clock& clock);
    ~App();

    http::Response handle(const http::Request& request);
    http::WsHandlers ws_handlers();

    Sim& sim() { return sim_; }
    Storage& storage() { return storage_; }
    WsHub& hub() { return hub_; }

  private:
    http::Response route(const http::Request& request, const std::string& path);
    http::Response upload_image(const http::Request& request);
    http::Response view(const http::Request& request);
    http::Response history_get(const http::Request& request, const std::string& path);
    http::Response system_stats() const;
    void ws_open(const std::shared_ptr<http::WsSession>& session, const http::Request& request);
    void ws_message(const std::shared_ptr<http::WsSession>& session, const std::string& text);

    AppOptions options_;
    const NodeTable& table_;
    Storage storage_;
    WsHub hub_;
    Sim sim_;
};

}  // namespace tollgate::comfysim
