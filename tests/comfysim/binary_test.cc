// Tests that run the real comfysim binary: the crash fault ends its process,
// and the command line must reach the server. The crash must come by SIGKILL
// halfway through a GPU node, after the prompt was accepted, as when the
// kernel's OOM killer takes a backend.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "http/codec/multipart.h"
#include "test_support.h"

namespace tollgate::comfysim {
namespace {

#ifdef COMFYSIM_BIN

// One HTTP/1.1 request over a fresh connection; returns the whole response.
std::string http_exchange(std::uint16_t port, const std::string& head, const std::string& body) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return {};
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string text = head + "Content-Length: " + std::to_string(body.size()) +
                                 "\r\nConnection: close\r\n\r\n" + body;
        if (::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())) {
            char buf[4096];
            ssize_t n = 0;
            while ((n = ::read(fd, buf, sizeof buf)) > 0) {
                response.append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    return response;
}

class ComfysimProcess {
  public:
    explicit ComfysimProcess(std::vector<std::string> args) {
        // Everything the child needs is built before fork(): other threads of
        // this test binary may hold the allocator's locks.
        std::string bin = COMFYSIM_BIN;
        std::vector<char*> argv = {bin.data()};
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int out[2];
        if (::pipe(out) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]);
            ::close(out[1]);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        // "comfysim listening on 127.0.0.1:PORT"
        FILE* f = ::fdopen(out[0], "r");
        char line[256] = {};
        if (f != nullptr && std::fgets(line, sizeof line, f) != nullptr) {
            const std::string text = line;
            const auto colon = text.rfind(':');
            if (text.rfind("comfysim listening on ", 0) == 0 && colon != std::string::npos) {
                port_ = static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)));
            }
        }
        if (f != nullptr) std::fclose(f);
    }
    ~ComfysimProcess() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    std::uint16_t port() const { return port_; }
    // The wait status once the process has ended, or -1 after `limit`.
    int wait_for_exit(std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return status;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1;
    }

  private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    bool exited_ = false;
};

TEST(BinaryTest, TheCrashFaultKillsTheProcessMidJob) {
    testing::TempDir tmp;
    ComfysimProcess sim({"--listen", "127.0.0.1:0", "--data-dir", tmp.path().string(),
                         "--crash-rate", "1", "--cold-start-s", "0", "--cost-base-s", "0.2",
                         "--cost-per-mp-s", "0"});
    ASSERT_NE(sim.port(), 0);
    const std::string host = "Host: 127.0.0.1:" + std::to_string(sim.port()) + "\r\n";
    const std::string form = http::build_multipart(
        "b0undary", {{"image", "in.png", "image/png", testing::gray_png(16, 16)}});
    const std::string up =
        http_exchange(sim.port(),
                      "POST /upload/image HTTP/1.1\r\n" + host +
                          "Content-Type: " + http::multipart_content_type("b0undary") + "\r\n",
                      form);
    ASSERT_EQ(up.rfind("HTTP/1.1 200", 0), 0u) << up;
    const Json prompt = {{"prompt", testing::ddcolor_graph("in.png")}, {"client_id", "c"}};
    const std::string queued = http_exchange(
        sim.port(), "POST /prompt HTTP/1.1\r\n" + host + "Content-Type: application/json\r\n",
        prompt.dump());
    ASSERT_EQ(queued.rfind("HTTP/1.1 200", 0), 0u) << queued;
    const int status = sim.wait_for_exit(std::chrono::seconds(20));
    ASSERT_NE(status, -1) << "comfysim did not crash";
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(BinaryTest, FlagsSetTheDeviceAndTheUploadRate) {
    testing::TempDir tmp;
    ComfysimProcess sim({"--listen", "127.0.0.1:0", "--data-dir", tmp.path().string(), "--vram-gb",
                         "4", "--upload-bytes-per-s", "20000"});
    ASSERT_NE(sim.port(), 0);
    const std::string host = "Host: 127.0.0.1:" + std::to_string(sim.port()) + "\r\n";
    const std::string stats =
        http_exchange(sim.port(), "GET /system_stats HTTP/1.1\r\n" + host, "");
    const Json device = Json::parse(stats.substr(stats.find("\r\n\r\n") + 4))["devices"][0];
    EXPECT_EQ(device["vram_total"], 4ll * 1024 * 1024 * 1024);
    EXPECT_EQ(device["name"], "cuda:0 comfysim GPU 4096 MiB : cudaMallocAsync");
    const std::string form = http::build_multipart(
        "b0undary", {{"image", "slow.png", "image/png", std::string(10'000, 'x')}});
    const auto start = std::chrono::steady_clock::now();
    const std::string up =
        http_exchange(sim.port(),
                      "POST /api/upload/image HTTP/1.1\r\n" + host +
                          "Content-Type: " + http::multipart_content_type("b0undary") + "\r\n",
                      form);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(up.rfind("HTTP/1.1 200", 0), 0u) << up;
    EXPECT_GE(seconds, 0.35);  // 10 kB at 20 kB/s
}

#else

TEST(BinaryTest, Skipped) { GTEST_SKIP() << "built without the comfysim binary (COMFYSIM_BIN)"; }

#endif

}  // namespace
}  // namespace tollgate::comfysim
