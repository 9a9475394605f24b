// A real ClickHouse server (Debian's clickhouse-server) for one test process:
// its own config and data in a temporary directory, HTTP and native ports
// free on 127.0.0.1, the default user limited to loopback. Stopped (SIGTERM,
// then SIGKILL) and removed when the object goes away, and sent SIGTERM by
// the kernel if the test process dies first.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
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
        server->write_config();
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

    void write_config() {
        const std::string d = dir_.path().string();
        std::ofstream(dir_.file("config.xml"))
            << "<yandex>\n"
            << "  <logger><level>warning</level><console>1</console></logger>\n"
            << "  <http_port>" << http_port_ << "</http_port>\n"
            << "  <tcp_port>" << tcp_port_ << "</tcp_port>\n"
            << "  <listen_host>127.0.0.1</listen_host>\n"
            << "  <path>" << d << "/data/</path>\n"
            << "  <tmp_path>" << d << "/tmp/</tmp_path>\n"
            << "  <user_files_path>" << d << "/user_files/</user_files_path>\n"
            << "  <format_schema_path>" << d << "/format_schemas/</format_schema_path>\n"
            << "  <users_config>" << d << "/users.xml</users_config>\n"
            << "  <default_profile>default</default_profile>\n"
            << "  <default_database>default</default_database>\n"
            << "  <mark_cache_size>5368709120</mark_cache_size>\n"
            << "</yandex>\n";
        std::ofstream(dir_.file("users.xml"))
            << "<yandex>\n"
            << "  <profiles><default></default></profiles>\n"
            << "  <users><default><password></password>\n"
            << "    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
            << "    <profile>default</profile><quota>default</quota>\n"
            << "  </default></users>\n"
            << "  <quotas><default></default></quotas>\n"
            << "</yandex>\n";
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
