// A real ClickHouse server (Debian's clickhouse-server) for one test process:
// its own config, filled in from tests/support/clickhouse-server.xml (its path
// is TOLLGATE_CLICKHOUSE_CONFIG, set by tests/CMakeLists.txt), and data in a
// temporary directory, HTTP and native ports free on 127.0.0.1, the default
// user limited to loopback. Stopped (SIGTERM, then SIGKILL) and removed when
// the object goes away, and sent SIGTERM by the kernel if the test process
// dies first.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "support/free_port.h"
#include "support/temp_dir.h"

namespace tollgate::testing {

class ClickHouseServer {
  public:
    static constexpr const char* kBinary = "/usr/sbin/clickhouse-server";

    // Nullptr, with *error set, when the server could not be started.
    static std::unique_ptr<ClickHouseServer> start(std::string* error) {
        if (::access(kBinary, X_OK) != 0) {
            *error = std::string("no ") + kBinary + ": install the clickhouse-server package";
            return nullptr;
        }
        auto server = std::unique_ptr<ClickHouseServer>(new ClickHouseServer());
        server->http_port_ = free_port();
        server->tcp_port_ = free_port();
        if (!server->write_config()) {
            *error = std::string("cannot read ") + TOLLGATE_CLICKHOUSE_CONFIG;
            return nullptr;
        }
        if (!server->start_server()) {
            *error = "clickhouse-server did not answer on port " +
                     std::to_string(server->http_port_) + ", see " + server->dir_.file("log");
            return nullptr;
        }
        return server;
    }

    ~ClickHouseServer() { stop(); }
    ClickHouseServer(const ClickHouseServer&) = delete;
    ClickHouseServer& operator=(const ClickHouseServer&) = delete;

    int http_port() const { return http_port_; }
    std::string url(const std::string& database) const {
        return "clickhouse://127.0.0.1:" + std::to_string(http_port_) + "/" + database;
    }
    // Stops the server (its data stays); true when it is gone.
    bool stop() {
        if (pid_ <= 0) return true;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 200; ++i) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return true;
    }
    // Starts it again on the same ports with the same data.
    bool start_server() {
        const std::string config = dir_.file("config.xml");
        const std::string log = dir_.file("log");
        pid_ = ::fork();
        if (pid_ == 0) {
            // A test that dies (an assertion aborts it) takes its server along.
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            std::freopen(log.c_str(), "a", stdout);
            std::freopen(log.c_str(), "a", stderr);
            ::execl(kBinary, kBinary, ("--config-file=" + config).c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        for (int i = 0; i < 300; ++i) {
            if (answers_ping()) return true;
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }

  private:
    ClickHouseServer() = default;

    // The template with this server's ports and directory in place of
    // @HTTP_PORT@, @TCP_PORT@ and @DIR@; false when it cannot be read.
    bool write_config() {
        std::ifstream in(TOLLGATE_CLICKHOUSE_CONFIG);
        if (!in) return false;
        std::ostringstream text;
        text << in.rdbuf();
        std::string config = text.str();
        replace_all(config, "@HTTP_PORT@", std::to_string(http_port_));
        replace_all(config, "@TCP_PORT@", std::to_string(tcp_port_));
        replace_all(config, "@DIR@", dir_.path().string());
        std::ofstream(dir_.file("config.xml")) << config;
        return true;
    }

    static void replace_all(std::string& text, const std::string& from, const std::string& to) {
        for (auto at = text.find(from); at != std::string::npos;
             at = text.find(from, at + to.size())) {
            text.replace(at, from.size(), to);
        }
    }

    // GET /ping answers "Ok." once the server is ready.
    bool answers_ping() const {
        const std::string command = "curl -s -m 1 http://127.0.0.1:" + std::to_string(http_port_) +
                                    "/ping 2>/dev/null | grep -q Ok";
        return std::system(command.c_str()) == 0;
    }

    TempDir dir_;
    int http_port_ = 0;
    int tcp_port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace tollgate::testing
