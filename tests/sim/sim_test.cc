// Runs the deterministic simulation (sim.h) over many seeds.
//
// The seeds 0 .. N-1 are split over kShards instances of one parameterized
// test, so ctest runs them in parallel; shard s runs the seeds s, s +
// kShards, ... Each seed is 30 to 60 steps with the invariants checked after
// every one. N is 10,000 by default; 500 under AddressSanitizer, which is
// several times slower, so that `make test-asan` stays reasonable.
//
// Environment:
//   TOLLGATE_SIM_SEEDS=<n>  run n seeds instead (split over the shards).
//   TOLLGATE_SIM_SEED=<n>   run only seed n, printing every step as it goes
//                           (shard 0 runs it; the others skip). TOLLGATE_SEED
//                           is accepted too.
// A failing seed prints its number, its step, what failed and its last
// steps. A TOLLGATE_ASSERT that aborts the process inside the code under
// test prints the seed and step from the abort handler.
//
// The simulation's database runs with synchronous=OFF, and lives in /dev/shm
// when there is one: crashes are simulated at the API level (a dropped
// process, a rolled-back transaction), not as power loss, so fsyncs would
// only cost time. About a third of the time goes to the auditor, which runs
// verify() and reads every account, hold and job after every step that wrote.
#include "sim/sim.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "sim/sim_money.h"
#include "sim/sim_steps.h"
#include "support/temp_dir.h"

namespace tollgate::sim {
namespace {

constexpr int kShards = 10;

#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kDefaultSeeds = 500;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr std::uint64_t kDefaultSeeds = 500;
#else
constexpr std::uint64_t kDefaultSeeds = 10'000;
#endif
#else
constexpr std::uint64_t kDefaultSeeds = 10'000;
#endif

std::optional<std::uint64_t> env_number(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return std::nullopt;
    char* end = nullptr;
    unsigned long long n = std::strtoull(text, &end, 10);
    if (*end != '\0') {
        ADD_FAILURE() << name << " must be a number, not '" << text << "'";
        return std::nullopt;
    }
    return n;
}

std::optional<std::uint64_t> replay_seed() {
    if (auto seed = env_number("TOLLGATE_SIM_SEED")) return seed;
    return env_number("TOLLGATE_SEED");
}

// SQLite's allocation statistics take a global mutex on every allocation,
// and parsing a statement allocates a lot: off, before SQLite initializes.
[[maybe_unused]] const bool kMemoryStatisticsOff =
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;

extern "C" void on_abort(int) {
    static const char kPrefix[] = "\nsimulation aborted in ";
    (void)!write(STDERR_FILENO, kPrefix, sizeof kPrefix - 1);
    (void)!write(STDERR_FILENO, g_abort_note, std::strlen(g_abort_note));
    (void)!write(STDERR_FILENO, "\n", 1);
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
}

// Where the simulation's directory goes: in memory when /dev/shm exists.
std::filesystem::path sim_base_dir() {
    const std::filesystem::path shm = "/dev/shm";
    if (std::filesystem::is_directory(shm) && ::access(shm.c_str(), W_OK) == 0) return shm;
    return std::filesystem::temp_directory_path();
}

class SimTest : public ::testing::TestWithParam<int> {
  protected:
    void SetUp() override {
        std::signal(SIGABRT, on_abort);
        spdlog::set_level(replay_seed() ? spdlog::level::warn : spdlog::level::off);
    }
    void TearDown() override { std::signal(SIGABRT, SIG_DFL); }
};

TEST_P(SimTest, Seeds) {
    testing::TempDir dir(sim_base_dir());
    if (auto seed = replay_seed()) {
        if (GetParam() != 0) GTEST_SKIP() << "seed " << *seed << " is replayed by shard 0";
        std::printf("replaying seed %llu\n", static_cast<unsigned long long>(*seed));
        SimResult r = Sim(*seed, dir.path(), /*verbose=*/true).run();
        std::printf("seed %llu: %s after %d steps, trace digest %016llx\n",
                    static_cast<unsigned long long>(*seed), r.passed ? "passed" : "FAILED", r.steps,
                    static_cast<unsigned long long>(r.digest));
        EXPECT_TRUE(r.passed) << r.report;
        return;
    }
    const std::uint64_t seeds = env_number("TOLLGATE_SIM_SEEDS").value_or(kDefaultSeeds);
    int failed = 0;
    std::uint64_t steps = 0;
    for (std::uint64_t seed = static_cast<std::uint64_t>(GetParam()); seed < seeds;
         seed += kShards) {
        SimResult r = Sim(seed, dir.path(), /*verbose=*/false).run();
        steps += static_cast<std::uint64_t>(r.steps);
        if (r.passed) continue;
        ADD_FAILURE() << r.report;
        if (++failed == 3) break;  // the first failures say enough
    }
    std::printf("shard %d: %llu steps\n", GetParam(), static_cast<unsigned long long>(steps));
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimTest, ::testing::Range(0, kShards));

// The same seed takes the same steps with the same outcomes, twice in one
// process: the trace digests match.
TEST(SimReplayTest, SeedReplaysExactly) {
    spdlog::set_level(spdlog::level::off);
    testing::TempDir dir(sim_base_dir());
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        SimResult first = Sim(seed, dir.path(), false).run();
        SimResult second = Sim(seed, dir.path(), false).run();
        EXPECT_EQ(first.passed, second.passed) << "seed " << seed;
        EXPECT_EQ(first.steps, second.steps) << "seed " << seed;
        EXPECT_EQ(first.digest, second.digest) << "seed " << seed << " took other steps";
    }
}

}  // namespace
}  // namespace tollgate::sim
