// Real Redis servers (Debian's redis-server) for one test process: one server
// (RedisServer), or a cluster of masters (RedisCluster). Each node listens on
// a free port of 127.0.0.1 only, keeps its data in a temporary directory with
// the AOF on (appendfsync always) and no RDB snapshots, and never evicts
// (noeviction). A node is stopped (SIGTERM, then SIGKILL) and its directory
// removed when the object goes away, and the kernel kills it if the test
// process dies first (PR_SET_PDEATHSIG). That signal follows the thread that
// forked the node, so create these objects (and restart()) on a thread that
// outlives them, such as the test's own.
//
// These helpers talk to the servers over plain sockets, not through the
// client under test. DEBUG is enabled from loopback (DEBUG SLEEP, DEBUG
// RELOAD) for tests of timeouts and restarts.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/free_port.h"
#include "support/temp_dir.h"

namespace tollgate::testing {

// One redis-server process and its directory; what RedisServer and
// RedisCluster are made of.
class RedisNode {
  public:
    static constexpr const char* kServerBinary = "/usr/bin/redis-server";
    static constexpr const char* kCliBinary = "/usr/bin/redis-cli";
    static constexpr int kStartMsMax = 10'000;
    static constexpr int kStopMsMax = 10'000;

    // `extra` are more "--name value" arguments (cluster settings).
    explicit RedisNode(std::vector<std::string> extra = {})
        : port_(free_port()), extra_(std::move(extra)) {}
    ~RedisNode() { stop(); }
    RedisNode(const RedisNode&) = delete;
    RedisNode& operator=(const RedisNode&) = delete;

    int port() const { return port_; }
    std::string log_path() const { return dir_.file("redis.log"); }

    // Starts the server and waits until PING answers PONG (the AOF loaded).
    // False, with *error set, when it does not.
    bool start(std::string* error) {
        if (::access(kServerBinary, X_OK) != 0) {
            *error = std::string("no ") + kServerBinary + ": install the redis-server package";
            return false;
        }
        pid_ = spawn(arguments(), log_path());
        if (pid_ < 0) {
            *error = "cannot fork redis-server";
            return false;
        }
        for (int waited_ms = 0; waited_ms < kStartMsMax; waited_ms += 20) {
            if (query(port_, "PING").starts_with("+PONG")) return true;
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                *error = "redis-server on port " + std::to_string(port_) + " exited: " + log_tail();
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        *error = "redis-server on port " + std::to_string(port_) + " did not answer PING within " +
                 std::to_string(kStartMsMax) + " ms: " + log_tail();
        kill();
        return false;
    }

    // SIGTERM (the server flushes its AOF), then SIGKILL after kStopMsMax.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int waited_ms = 0; waited_ms < kStopMsMax; waited_ms += 20) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        kill();
    }

    // SIGKILL now: a crash.
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    std::string log_tail() const {
        std::ifstream in(log_path());
        std::stringstream text;
        text << in.rdbuf();
        const std::string all = text.str();
        return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
    }

    // An inline command (words separated by spaces) on a new connection;
    // the raw reply ("+PONG\r\n", "$12\r\n..."), or "" when there is none
    // within half a second.
    static std::string query(int port, const std::string& command) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return "";
        timeval timeout{0, 500'000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        std::string in;
        const std::string out = command + "\r\n";
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size())) {
            char buffer[4096];
            while (!complete(in) && in.size() < (1u << 20)) {
                const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
                if (n <= 0) break;
                in.append(buffer, static_cast<std::size_t>(n));
            }
        }
        ::close(fd);
        return complete(in) ? in : "";
    }

    // Runs `argv` (argv[0] a path) with its output in `log`, for at most
    // `timeout_ms`; its exit status, or -1 when it was killed or never ran.
    static int run(const std::vector<std::string>& argv, const std::string& log, int timeout_ms) {
        const pid_t pid = spawn(argv, log);
        if (pid < 0) return -1;
        for (int waited_ms = 0; waited_ms < timeout_ms; waited_ms += 20) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return -1;
    }

  private:
    std::vector<std::string> arguments() const {
        std::vector<std::string> argv = {kServerBinary,
                                         "--port",
                                         std::to_string(port_),
                                         "--bind",
                                         "127.0.0.1",
                                         "--dir",
                                         dir_.path().string(),
                                         "--daemonize",
                                         "no",
                                         "--appendonly",
                                         "yes",
                                         "--appendfsync",
                                         "always",
                                         "--save",
                                         "",
                                         "--maxmemory-policy",
                                         "noeviction",
                                         "--enable-debug-command",
                                         "local"};
        argv.insert(argv.end(), extra_.begin(), extra_.end());
        return argv;
    }

    // A reply is complete once its first line is, and a bulk string's body.
    static bool complete(const std::string& in) {
        const std::size_t line_end = in.find("\r\n");
        if (line_end == std::string::npos) return false;
        if (in[0] != '$') return true;
        const long length = std::strtol(in.c_str() + 1, nullptr, 10);
        return length < 0 || in.size() >= line_end + 2 + static_cast<std::size_t>(length) + 2;
    }

    // fork + exec, with nothing but async-signal-safe calls in the child.
    static pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
        std::vector<char*> argv;
        for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
        argv.push_back(nullptr);
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid != 0) return pid;
        // A test that dies (an assertion aborts it) takes its servers along.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, STDOUT_FILENO);
            ::dup2(fd, STDERR_FILENO);
        }
        // Sockets of the test process (hiredis opens them without
        // close-on-exec) must not stay open in the server.
        ::close_range(3, ~0u, 0);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }

    TempDir dir_;
    int port_;
    std::vector<std::string> extra_;
    pid_t pid_ = -1;
};

// One server, started by the constructor.
class RedisServer {
  public:
    RedisServer() { node_.start(&error_); }
    ~RedisServer() = default;
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    int port() const { return node_.port(); }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port()); }

    // SIGKILL now (a crash); the AOF keeps every acknowledged write.
    void kill() { node_.kill(); }
    // Starts it again (stopping it first if it runs) on the same port and
    // directory, reloading the AOF; true when PING answers.
    bool restart() {
        node_.stop();
        error_.clear();
        return node_.start(&error_);
    }

  private:
    RedisNode node_;
    std::string error_;
};

// `masters` nodes with cluster mode on, joined by redis-cli --cluster create
// (no replicas), ready when every node reports cluster_state:ok.
class RedisCluster {
  public:
    static constexpr int kCreateMsMax = 60'000;
    static constexpr int kReadyMsMax = 30'000;

    explicit RedisCluster(int masters = 3) {
        if (masters < 3) {
            error_ = "a Redis Cluster needs at least 3 masters";
            return;
        }
        std::vector<std::string> create = {RedisNode::kCliBinary, "--cluster", "create"};
        for (int i = 0; i < masters; ++i) {
            // The bus port is chosen too: port + 10000 may be taken or past 65535.
            nodes_.push_back(std::make_unique<RedisNode>(std::vector<std::string>{
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000", "--cluster-port", std::to_string(free_port())}));
            if (!nodes_.back()->start(&error_)) return;
            create.push_back("127.0.0.1:" + std::to_string(nodes_.back()->port()));
        }
        create.insert(create.end(), {"--cluster-replicas", "0", "--cluster-yes"});
        const std::string log = dir_.file("create.log");
        if (RedisNode::run(create, log, kCreateMsMax) != 0) {
            error_ = "redis-cli --cluster create failed: " + read(log);
            return;
        }
        for (int waited_ms = 0; waited_ms < kReadyMsMax; waited_ms += 50) {
            if (all_ok()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        error_ = "the cluster did not reach cluster_state:ok within " +
                 std::to_string(kReadyMsMax) + " ms";
    }
    ~RedisCluster() = default;
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    std::vector<int> ports() const {
        std::vector<int> out;
        for (const auto& node : nodes_) out.push_back(node->port());
        return out;
    }
    std::string url() const {
        std::string out = "redis://";
        for (const auto& node : nodes_) {
            if (out.size() > 8) out += ",";
            out += "127.0.0.1:" + std::to_string(node->port());
        }
        return out;
    }

  private:
    bool all_ok() const {
        for (const auto& node : nodes_) {
            const std::string info = RedisNode::query(node->port(), "CLUSTER INFO");
            if (info.find("cluster_state:ok") == std::string::npos) return false;
        }
        return true;
    }

    static std::string read(const std::string& path) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    TempDir dir_;  // redis-cli's log
    std::vector<std::unique_ptr<RedisNode>> nodes_;
    std::string error_;
};

}  // namespace tollgate::testing
