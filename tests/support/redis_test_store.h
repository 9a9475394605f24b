// What every test on the shared (Redis) store needs: one redis-server per
// test binary, a key prefix per test so tests never see each other's keys,
// a client of that server, and the name a backend-parameterized suite gives
// each instance (Backends/Suite.Test/<backend>).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "store/redis/redis_client.h"
#include "support/redis_server.h"

namespace tollgate::testing {

// Started on first use, from a test's SetUp, so on the main thread, which
// outlives it (its PR_SET_PDEATHSIG follows the thread that started it), and
// stopped when the binary exits.
inline RedisServer& shared_redis_server() {
    static std::unique_ptr<RedisServer> server = std::make_unique<RedisServer>();
    return *server;
}

// "<tag><n>_<pid>:", new on each call: no other test of any binary uses it.
inline std::string unique_redis_prefix(std::string_view tag) {
    static std::atomic<int> calls{0};
    return std::string(tag) + std::to_string(++calls) + "_" + std::to_string(::getpid()) + ":";
}

// A new client of the shared server (one per gateway instance a test stands
// for); null, with a test failure, when there is none.
inline std::unique_ptr<store::redis::Client> shared_redis_client() {
    RedisServer& server = shared_redis_server();
    if (!server.ok()) {
        ADD_FAILURE() << "no Redis server: " << server.error();
        return nullptr;
    }
    auto options = store::redis::parse_redis_url(server.url());
    if (!options.ok()) {
        ADD_FAILURE() << options.error().message;
        return nullptr;
    }
    auto client = store::redis::Client::connect(*options);
    if (!client.ok()) {
        ADD_FAILURE() << client.error().message;
        return nullptr;
    }
    return std::move(client).value();
}

// Names each instance of a suite parameterized by backend after it.
inline std::string backend_param_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param;
}

}  // namespace tollgate::testing
