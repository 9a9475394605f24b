// A real PostgreSQL server for one test process: a fresh cluster (initdb) in
// a temporary directory, listening on a free port of 127.0.0.1 only, with
// trust authentication for the user "tollgate". Stopped and removed when the
// object goes away. Under root, initdb and the server run as the "postgres"
// user that Debian's package creates, because PostgreSQL refuses root.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "support/free_port.h"
#include "support/temp_dir.h"

namespace tollgate::testing {

class PostgresServer {
  public:
    // Nullptr, with *error set, when the server could not be started.
    static std::unique_ptr<PostgresServer> start(std::string* error) {
        auto server = std::unique_ptr<PostgresServer>(new PostgresServer());
        if (server->bin_.empty()) {
            *error = "no /usr/lib/postgresql/*/bin/initdb: install the postgresql package";
            return nullptr;
        }
        const std::string dir = server->dir_.path().string();
        if (::geteuid() == 0 && run("chown postgres: " + dir) != 0) {
            *error = "cannot hand " + dir + " to the postgres user";
            return nullptr;
        }
        if (server->as_postgres(server->bin_ + "/initdb -D " + dir + "/data -U tollgate " +
                                "--auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >" + dir +
                                "/initdb.log 2>&1") != 0) {
            *error = "initdb failed, see " + dir + "/initdb.log";
            return nullptr;
        }
        server->port_ = free_port();
        if (!server->start_server()) {
            *error = "the server did not start on port " + std::to_string(server->port_);
            return nullptr;
        }
        return server;
    }

    ~PostgresServer() { stop(); }
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    int port() const { return port_; }
    std::string url() const {
        return "postgresql://tollgate@127.0.0.1:" + std::to_string(port_) + "/postgres";
    }
    // Stops the server at once (its data stays); true when it stopped.
    bool stop() {
        if (!running_) return true;
        running_ = as_postgres(bin_ + "/pg_ctl -D " + dir_.path().string() +
                               "/data -m immediate -w stop >/dev/null 2>&1") != 0;
        return !running_;
    }
    // Starts it again on the same port with the same data.
    bool start_server() {
        const std::string dir = dir_.path().string();
        running_ =
            as_postgres(bin_ + "/pg_ctl -D " + dir + "/data -l " + dir +
                        "/server.log -w -t 60 -o \"-p " + std::to_string(port_) + " -k " + dir +
                        " -c listen_addresses=127.0.0.1\" start " + ">/dev/null 2>&1") == 0;
        return running_;
    }

  private:
    PostgresServer() : bin_(find_bin()) {}

    static int run(const std::string& command) { return std::system(command.c_str()); }
    int as_postgres(const std::string& command) const {
        if (::geteuid() != 0) return run(command);
        return run("runuser -u postgres -- sh -c '" + command + "'");
    }
    static std::string find_bin() {
        std::string best;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
            const std::string bin = (entry.path() / "bin").string();
            if (std::filesystem::exists(bin + "/initdb") && bin > best) best = bin;
        }
        return best;
    }

    const std::string bin_;
    TempDir dir_;
    int port_ = 0;
    bool running_ = false;
};

}  // namespace tollgate::testing
