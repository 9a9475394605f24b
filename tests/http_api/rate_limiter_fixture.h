// What the rate limiter tests share: one Redis server per test binary, a key
// prefix no other test uses, and a client connected to the server.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "store/redis/redis_client.h"
#include "support/redis_server.h"

namespace tollgate::http {

// Started on first use (from a test's SetUp, so on the main thread, which
// outlives it: its PR_SET_PDEATHSIG follows the thread that started it) and
// stopped when the binary exits.
inline testing::RedisServer& rate_redis_server() {
    static std::unique_ptr<testing::RedisServer> server = std::make_unique<testing::RedisServer>();
    return *server;
}

// "rl<n>_<pid>:", new on each call.
inline std::string rate_redis_prefix() {
    static std::atomic<int> tests{0};
    return "rl" + std::to_string(++tests) + "_" + std::to_string(::getpid()) + ":";
}

// A new client of the server (one per gateway instance a test stands for);
// null, with a test failure, when there is none.
inline std::unique_ptr<store::redis::Client> rate_redis_client() {
    testing::RedisServer& server = rate_redis_server();
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

}  // namespace tollgate::http
