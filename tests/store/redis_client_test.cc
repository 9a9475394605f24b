#include "store/redis/redis_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/free_port.h"
#include "support/redis_server.h"

namespace tollgate::store::redis {
namespace {

using Clock = std::chrono::steady_clock;

// The reply to argv, routed by `key`; a failure names the error.
Reply run_on_key(Client& client, const std::string& key, const std::vector<std::string>& argv) {
    auto reply = client.command(key, argv);
    EXPECT_TRUE(reply.ok()) << argv[0] << ": " << reply.error().code << ": "
                            << reply.error().message;
    return reply.ok() ? *reply : Reply{};
}

// The same, routed by argv[1] (the key of most commands).
Reply run(Client& client, const std::vector<std::string>& argv) {
    return run_on_key(client, argv.size() > 1 ? argv[1] : "", argv);
}

Options options_for(const std::string& url) {
    auto options = parse_redis_url(url);
    EXPECT_TRUE(options.ok()) << options.error().message;
    return options.ok() ? *options : Options{};
}

// ---- URLs, slots, scripts ----

TEST(RedisUrlTest, ParsesHostsPortsAndPassword) {
    auto one = parse_redis_url("redis://127.0.0.1:6380");
    ASSERT_TRUE(one.ok()) << one.error().message;
    ASSERT_EQ(one->seeds.size(), 1u);
    EXPECT_EQ(one->seeds[0].host, "127.0.0.1");
    EXPECT_EQ(one->seeds[0].port, 6380);
    EXPECT_EQ(one->password, "");

    auto defaulted = parse_redis_url("redis://cache.internal");
    ASSERT_TRUE(defaulted.ok()) << defaulted.error().message;
    EXPECT_EQ(defaulted->seeds[0].host, "cache.internal");
    EXPECT_EQ(defaulted->seeds[0].port, 6379);

    // The password ends at the last '@'; %XX escapes are decoded.
    auto many = parse_redis_url("redis://:p@ss%2Cw%40rd:x@a:7000,b,[::1]:7002");
    ASSERT_TRUE(many.ok()) << many.error().message;
    EXPECT_EQ(many->password, "p@ss,w@rd:x");
    ASSERT_EQ(many->seeds.size(), 3u);
    EXPECT_EQ(many->seeds[0].host, "a");
    EXPECT_EQ(many->seeds[0].port, 7000);
    EXPECT_EQ(many->seeds[1].host, "b");
    EXPECT_EQ(many->seeds[1].port, 6379);
    EXPECT_EQ(many->seeds[2].host, "::1");
    EXPECT_EQ(many->seeds[2].port, 7002);
}

TEST(RedisUrlTest, RefusesBadPortsHostsAndShapes) {
    for (const char* url : {"redis://h:0",    "redis://h:65536",   "redis://h:99999999",
                            "redis://h:",     "redis://h:12a",     "redis://h:-1",
                            "redis://",       "redis://h,,k",      "redis://h,",
                            "rediss://h",     "http://h:6379",     "redis://h:6379/0",
                            "redis://h?db=1", "redis://user:pw@h", "redis://:@h",
                            "redis://:%zz@h", "redis://h 1",       "redis://::1:6379",
                            "redis://[::1",   "redis://[x]:1",     "redis://h/"}) {
        auto parsed = parse_redis_url(url);
        ASSERT_FALSE(parsed.ok()) << url;
        EXPECT_EQ(parsed.error().code, "invalid_redis_url") << url;
    }
}

TEST(RedisUrlTest, AcceptsSixteenSeedsAndNoMore) {
    std::string url = "redis://h0";
    for (int i = 1; i < 16; ++i) url += ",h" + std::to_string(i) + ":" + std::to_string(7000 + i);
    auto sixteen = parse_redis_url(url);
    ASSERT_TRUE(sixteen.ok()) << sixteen.error().message;
    EXPECT_EQ(sixteen->seeds.size(), 16u);
    auto seventeen = parse_redis_url(url + ",h16");
    ASSERT_FALSE(seventeen.ok());
    EXPECT_EQ(seventeen.error().code, "invalid_redis_url");
    EXPECT_NE(seventeen.error().message.find("16"), std::string::npos);
}

TEST(RedisUrlTest, RefusesOverlongUrls) {
    auto parsed = parse_redis_url("redis://" + std::string(2100, 'h'));
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, "invalid_redis_url");
}

TEST(RedisUrlTest, ErrorsNeverQuoteThePassword) {
    const std::string secret = "Hunter2Secret";
    for (const std::string& url :
         {"redis://:" + secret + "@h:99999", "redis://:" + secret + "@", "redis://:" + secret,
          "redis://h:" + secret, "redis://:" + secret + "@h:1,h:2/", "redis://" + secret + "@h",
          "redis://:" + secret + "%4@h", "redis://:" + secret + " @h"}) {
        auto parsed = parse_redis_url(url);
        ASSERT_FALSE(parsed.ok()) << url;
        EXPECT_EQ(parsed.error().code, "invalid_redis_url");
        EXPECT_EQ(parsed.error().message.find(secret), std::string::npos) << parsed.error().message;
        EXPECT_EQ(parsed.error().message.find("Hunter"), std::string::npos);
    }
}

TEST(RedisHashSlotTest, MatchesTheClusterSpecification) {
    EXPECT_EQ(hash_slot("foo"), 12182);
    EXPECT_EQ(hash_slot("bar"), 5061);
    EXPECT_EQ(hash_slot("123456789"), 12739);  // CRC16-XMODEM("123456789") = 0x31C3
    EXPECT_EQ(hash_slot(""), 0);
    EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("{user1000}.followers"));
    EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("user1000"));
    // Only the first '{' and the first '}' after it count.
    EXPECT_EQ(hash_slot("foo{bar}{zap}"), hash_slot("bar"));
    EXPECT_EQ(hash_slot("{a}b}"), hash_slot("a"));
    // An empty tag: the whole key is hashed.
    EXPECT_EQ(hash_slot("foo{}{bar}"), 8363);
    EXPECT_NE(hash_slot("foo{}{bar}"), hash_slot("bar"));
    EXPECT_EQ(hash_slot("{}"), hash_slot(std::string_view("{}")));
    // No closing brace: the whole key.
    EXPECT_EQ(hash_slot("{foo"), 13308);
    // Binary keys.
    EXPECT_LT(hash_slot(std::string("\0\xff{", 3)), 16384);
}

TEST(RedisScriptTest, KnowsItsSha1) {
    const Script script("return 1");
    EXPECT_EQ(script.source(), "return 1");
    EXPECT_EQ(script.sha1_hex(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    EXPECT_EQ(Script("").sha1_hex(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(RedisConnectTest, NothingListeningIsUnavailable) {
    Options options;
    options.seeds = {Endpoint{"127.0.0.1", testing::free_port()}};
    auto client = Client::connect(options);
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, "redis_unavailable");
}

TEST(RedisConnectTest, RefusesOptionsOutOfRange) {
    Options options;
    options.seeds = {Endpoint{"127.0.0.1", 6379}};
    options.command_timeout_ms = 0;
    auto client = Client::connect(options);
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, "redis_unavailable");
    EXPECT_NE(client.error().message.find("timeout"), std::string::npos);
}

// ---- One server ----

class RedisServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(server_.ok()) << server_.error();
        auto client = Client::connect(options_for(server_.url()));
        ASSERT_TRUE(client.ok()) << client.error().message;
        client_ = std::move(client).value();
    }

    testing::RedisServer server_;
    std::unique_ptr<Client> client_;
};

TEST_F(RedisServerTest, IsOneNode) {
    EXPECT_FALSE(client_->cluster());
    const auto masters = client_->masters();
    ASSERT_EQ(masters.size(), 1u);
    EXPECT_EQ(masters[0].host, "127.0.0.1");
    EXPECT_EQ(masters[0].port, server_.port());
    auto pong = client_->command_on(masters[0], {"PING"});
    ASSERT_TRUE(pong.ok()) << pong.error().message;
    EXPECT_EQ(pong->type, Reply::Type::Status);
    EXPECT_EQ(pong->text, "PONG");
}

TEST_F(RedisServerTest, SetAndGetAreBinarySafe) {
    const std::string key("k\0ey\r\n", 6);
    const std::string value("a\0b\r\n$3\r\n\xff\x00", 12);
    const Reply set = run(*client_, {"SET", key, value});
    EXPECT_EQ(set.type, Reply::Type::Status);
    EXPECT_EQ(set.text, "OK");
    const Reply got = run(*client_, {"GET", key});
    EXPECT_EQ(got.type, Reply::Type::String);
    EXPECT_EQ(got.text, value);
    EXPECT_EQ(run(*client_, {"STRLEN", key}).integer, 12);
    // The key with its NUL is another key than its prefix.
    EXPECT_TRUE(run(*client_, {"GET", "k"}).is_nil());
}

TEST_F(RedisServerTest, ConvertsEveryReplyType) {
    const Reply incr = run(*client_, {"INCRBY", "n", "-7"});
    EXPECT_EQ(incr.type, Reply::Type::Integer);
    EXPECT_EQ(incr.integer, -7);
    EXPECT_EQ(run(*client_, {"RPUSH", "list", "a", "", "c"}).integer, 3);
    const Reply range = run(*client_, {"LRANGE", "list", "0", "-1"});
    ASSERT_EQ(range.type, Reply::Type::Array);
    ASSERT_EQ(range.elements.size(), 3u);
    EXPECT_EQ(range.elements[0].text, "a");
    EXPECT_EQ(range.elements[1].type, Reply::Type::String);
    EXPECT_EQ(range.elements[1].text, "");
    EXPECT_EQ(range.elements[2].text, "c");
    EXPECT_TRUE(run(*client_, {"GET", "missing"}).is_nil());
    const Reply mixed = run(*client_, {"MGET", "n", "missing"});
    ASSERT_EQ(mixed.elements.size(), 2u);
    EXPECT_EQ(mixed.elements[0].text, "-7");
    EXPECT_TRUE(mixed.elements[1].is_nil());
    const Reply empty = run(*client_, {"LRANGE", "missing", "0", "-1"});
    EXPECT_EQ(empty.type, Reply::Type::Array);
    EXPECT_TRUE(empty.elements.empty());
    // A nested array: a script's table of tables.
    const Reply nested = run_on_key(*client_, "", {"EVAL", "return {1, {'x', {2}}}", "0"});
    ASSERT_EQ(nested.type, Reply::Type::Array);
    ASSERT_EQ(nested.elements.size(), 2u);
    EXPECT_EQ(nested.elements[0].integer, 1);
    ASSERT_EQ(nested.elements[1].elements.size(), 2u);
    EXPECT_EQ(nested.elements[1].elements[0].text, "x");
    EXPECT_EQ(nested.elements[1].elements[1].elements[0].integer, 2);
    const Reply status = run_on_key(*client_, "", {"PING"});
    EXPECT_EQ(status.type, Reply::Type::Status);
    EXPECT_EQ(status.text, "PONG");
}

TEST_F(RedisServerTest, ErrorRepliesAreRedisErrors) {
    run(*client_, {"SET", "word", "abc"});
    auto incr = client_->command("word", {"INCR", "word"});
    ASSERT_FALSE(incr.ok());
    EXPECT_EQ(incr.error().code, "redis_error");
    EXPECT_EQ(incr.error().message, "ERR value is not an integer or out of range");
    auto unknown = client_->command("", {"NO-SUCH-COMMAND"});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, "redis_error");
    EXPECT_TRUE(unknown.error().message.starts_with("ERR unknown command"))
        << unknown.error().message;
    // An error raised inside a script, and one nested in a script's reply.
    auto raised = client_->command("", {"EVAL", "return redis.error_reply('BOOM nope')", "0"});
    ASSERT_FALSE(raised.ok());
    EXPECT_EQ(raised.error().code, "redis_error");
    EXPECT_EQ(raised.error().message, "BOOM nope");
    auto nested = client_->command("", {"EVAL", "return {1, redis.error_reply('INNER x')}", "0"});
    ASSERT_FALSE(nested.ok());
    EXPECT_EQ(nested.error().code, "redis_error");
    EXPECT_EQ(nested.error().message, "INNER x");
    // The connection stays in use after an error reply.
    EXPECT_EQ(run(*client_, {"GET", "word"}).text, "abc");
}

TEST_F(RedisServerTest, EvalLoadsScriptsTheServerDoesNotKnow) {
    const Script add("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    // A fresh server knows no script: NOSCRIPT, SCRIPT LOAD, EVALSHA.
    auto first = client_->eval(add, {"counter"}, {"5"});
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first->integer, 5);
    auto known = client_->command("", {"SCRIPT", "EXISTS", add.sha1_hex()});
    ASSERT_TRUE(known.ok());
    EXPECT_EQ(known->elements.at(0).integer, 1);

    run_on_key(*client_, "", {"SCRIPT", "FLUSH"});
    auto again = client_->eval(add, {"counter"}, {"5"});
    ASSERT_TRUE(again.ok()) << again.error().message;
    // Each eval ran exactly once.
    EXPECT_EQ(again->integer, 10);
    EXPECT_EQ(run(*client_, {"GET", "counter"}).text, "10");
}

TEST_F(RedisServerTest, EvalPassesKeysAndArgumentsBinarySafe) {
    const Script echo("return {KEYS[1], KEYS[2], ARGV[1], #ARGV}");
    const std::string arg("\0x\0", 3);
    auto reply = client_->eval(echo, {"{t}a", "{t}b"}, {arg, "2"});
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    ASSERT_EQ(reply->elements.size(), 4u);
    EXPECT_EQ(reply->elements[0].text, "{t}a");
    EXPECT_EQ(reply->elements[1].text, "{t}b");
    EXPECT_EQ(reply->elements[2].text, arg);
    EXPECT_EQ(reply->elements[3].integer, 2);
    auto keyless = client_->eval(Script("return 'ok'"), {}, {});
    ASSERT_TRUE(keyless.ok()) << keyless.error().message;
    EXPECT_EQ(keyless->text, "ok");
}

TEST_F(RedisServerTest, EvalRefusesKeysOfDifferentSlotsEvenOnOneServer) {
    ASSERT_NE(hash_slot("a"), hash_slot("b"));
    auto reply = client_->eval(Script("return 1"), {"a", "b"}, {});
    ASSERT_FALSE(reply.ok());
    EXPECT_EQ(reply.error().code, "redis_error");
    EXPECT_TRUE(reply.error().message.starts_with("CROSSSLOT"));
}

TEST_F(RedisServerTest, CommandTimeoutIsUnavailable) {
    Options options = options_for(server_.url());
    options.command_timeout_ms = 200;
    auto client = Client::connect(options);
    ASSERT_TRUE(client.ok()) << client.error().message;
    const auto start = Clock::now();
    // BLPOP on an empty list blocks for 5 s, far beyond the timeout.
    auto blocked = (*client)->command("empty", {"BLPOP", "empty", "5"});
    const auto elapsed = Clock::now() - start;
    ASSERT_FALSE(blocked.ok());
    EXPECT_EQ(blocked.error().code, "redis_unavailable");
    EXPECT_GE(elapsed, std::chrono::milliseconds(190));
    EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
    // The timed-out connection is dropped; the next call gets a good one.
    EXPECT_EQ(run(**client, {"SET", "after", "1"}).text, "OK");
    // The whole server asleep (DEBUG SLEEP): the same.
    auto slept = (*client)->command("", {"DEBUG", "SLEEP", "1"});
    ASSERT_FALSE(slept.ok());
    EXPECT_EQ(slept.error().code, "redis_unavailable");
}

TEST_F(RedisServerTest, KilledServerIsUnavailableThenServesAgainAfterRestart) {
    EXPECT_EQ(run(*client_, {"SET", "kept", "yes"}).text, "OK");
    server_.kill();
    for (int i = 0; i < 3; ++i) {
        auto down = client_->command("kept", {"GET", "kept"});
        ASSERT_FALSE(down.ok());
        EXPECT_EQ(down.error().code, "redis_unavailable") << down.error().message;
    }
    ASSERT_TRUE(server_.restart()) << server_.error();
    // The AOF (appendfsync always) kept the acknowledged write.
    EXPECT_EQ(run(*client_, {"GET", "kept"}).text, "yes");
}

TEST_F(RedisServerTest, IdleConnectionsBrokenByARestartAreNotUsed) {
    // Several connections in the pool, idle when the server goes.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) run(*client_, {"INCR", "warm"});
        });
    }
    for (auto& thread : threads) thread.join();
    server_.kill();
    ASSERT_TRUE(server_.restart()) << server_.error();
    // No call fails: every stale connection is found closed before use.
    for (int i = 0; i < 10; ++i) {
        auto reply = client_->command("warm", {"GET", "warm"});
        ASSERT_TRUE(reply.ok()) << i << ": " << reply.error().message;
        EXPECT_EQ(reply->text, "80");
    }
}

TEST_F(RedisServerTest, ManyThreadsShareOneClient) {
    constexpr int kThreads = 8;
    constexpr int kIncrements = 500;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kIncrements; ++i) {
                if (!client_->command("hits", {"INCR", "hits"}).ok()) ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(run(*client_, {"GET", "hits"}).text, std::to_string(kThreads * kIncrements));
}

TEST_F(RedisServerTest, ThePoolBoundsConnectionsAndCallersWait) {
    Options options = options_for(server_.url());
    options.pool_connections_max = 2;
    auto client = Client::connect(options);
    ASSERT_TRUE(client.ok()) << client.error().message;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                if (!(*client)->command("bounded", {"INCR", "bounded"}).ok()) ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(run(**client, {"GET", "bounded"}).text, "600");
    // Its connections, plus the fixture's client's one.
    const std::string info = run_on_key(**client, "", {"INFO", "clients"}).text;
    EXPECT_NE(info.find("connected_clients:3\r\n"), std::string::npos) << info;
}

TEST_F(RedisServerTest, RefusesRepliesLargerThanTheBound) {
    // A string one byte over the bound, made on the server.
    run(*client_, {"SETRANGE", "big", std::to_string(kReplyBytesMax), "x"});
    EXPECT_EQ(run(*client_, {"STRLEN", "big"}).integer,
              static_cast<std::int64_t>(kReplyBytesMax) + 1);
    // Reading 64 MiB through hiredis 0.14 takes a while (its buffer grows by
    // 1 MiB steps), the more so under sanitizers: a generous timeout, so
    // that only the size bound can fail the call.
    Options options = options_for(server_.url());
    options.command_timeout_ms = 60'000;
    auto client = Client::connect(options);
    ASSERT_TRUE(client.ok()) << client.error().message;
    auto big = (*client)->command("big", {"GET", "big"});
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().code, "redis_error");
    EXPECT_NE(big.error().message.find("larger than"), std::string::npos) << big.error().message;
    // The connection that read part of it is gone; the next call works.
    EXPECT_EQ(run(**client, {"GETRANGE", "big", "-1", "-1"}).text, "x");
    EXPECT_EQ(run(*client_, {"DEL", "big"}).integer, 1);
}

TEST_F(RedisServerTest, AuthenticatesWithThePasswordOfTheUrl) {
    const std::string password = "pa:ss@w/rd";
    run_on_key(*client_, "", {"CONFIG", "SET", "requirepass", password});
    // Without the password the client cannot even learn what the server is.
    auto anonymous = Client::connect(options_for(server_.url()));
    ASSERT_FALSE(anonymous.ok());
    EXPECT_EQ(anonymous.error().code, "redis_unavailable");
    EXPECT_NE(anonymous.error().message.find("NOAUTH"), std::string::npos)
        << anonymous.error().message;
    // Connections opened before keep working (they were authenticated then).
    EXPECT_EQ(run(*client_, {"SET", "x", "0"}).text, "OK");

    auto wrong = Client::connect(options_for("redis://:not-" + std::string("it@127.0.0.1:") +
                                             std::to_string(server_.port())));
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, "redis_unavailable");
    EXPECT_EQ(wrong.error().message.find("not-it"), std::string::npos) << wrong.error().message;

    auto authed = Client::connect(
        options_for("redis://:pa%3Ass%40w%2Frd@127.0.0.1:" + std::to_string(server_.port())));
    ASSERT_TRUE(authed.ok()) << authed.error().message;
    EXPECT_EQ(run(**authed, {"SET", "x", "1"}).text, "OK");
}

// ---- A cluster of three masters, shared by the tests below ----

class RedisClusterTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { cluster_ = new testing::RedisCluster(3); }
    static void TearDownTestSuite() {
        delete cluster_;
        cluster_ = nullptr;
    }
    void SetUp() override {
        ASSERT_TRUE(cluster_->ok()) << cluster_->error();
        auto client = Client::connect(options_for(cluster_->url()));
        ASSERT_TRUE(client.ok()) << client.error().message;
        client_ = std::move(client).value();
    }

    // The master that serves `key` (the one that does not answer MOVED).
    Endpoint owner_of(const std::string& key) {
        for (const Endpoint& node : client_->masters()) {
            auto reply = client_->command_on(node, {"EXISTS", key});
            if (reply.ok()) return node;
            EXPECT_TRUE(reply.error().message.starts_with("MOVED")) << reply.error().message;
        }
        ADD_FAILURE() << "no master serves " << key;
        return Endpoint{};
    }

    static testing::RedisCluster* cluster_;
    std::unique_ptr<Client> client_;
};

testing::RedisCluster* RedisClusterTest::cluster_ = nullptr;

TEST_F(RedisClusterTest, KnowsEveryMaster) {
    EXPECT_TRUE(client_->cluster());
    std::set<int> ports;
    for (const Endpoint& node : client_->masters()) {
        EXPECT_EQ(node.host, "127.0.0.1");
        ports.insert(node.port);
    }
    const auto expected = cluster_->ports();
    EXPECT_EQ(client_->masters().size(), 3u);
    EXPECT_EQ(ports, std::set<int>(expected.begin(), expected.end()));
}

TEST_F(RedisClusterTest, HashSlotsAgreeWithTheServer) {
    const std::vector<std::string> keys = {
        "foo",       "{user1000}.following",    "foo{}{bar}", "{foo", "a{b}c", "{}", "",
        "123456789", std::string("\xff{\0}", 4)};
    for (const std::string& key : keys) {
        auto slot = client_->command_on(client_->masters().at(0), {"CLUSTER", "KEYSLOT", key});
        ASSERT_TRUE(slot.ok()) << slot.error().message;
        EXPECT_EQ(slot->integer, hash_slot(key)) << key;
    }
}

TEST_F(RedisClusterTest, KeysSpreadOverTheMasters) {
    for (int i = 0; i < 100; ++i) {
        const std::string key = "spread:" + std::to_string(i);
        EXPECT_EQ(run(*client_, {"SET", key, "v" + std::to_string(i)}).text, "OK");
    }
    for (int i = 0; i < 100; ++i) {
        const std::string key = "spread:" + std::to_string(i);
        EXPECT_EQ(run(*client_, {"GET", key}).text, "v" + std::to_string(i));
    }
    std::size_t total = 0;
    for (const Endpoint& node : client_->masters()) {
        auto keys = client_->command_on(node, {"KEYS", "spread:*"});
        ASSERT_TRUE(keys.ok()) << keys.error().message;
        EXPECT_GT(keys->elements.size(), 10u) << node.port;
        total += keys->elements.size();
    }
    EXPECT_EQ(total, 100u);
}

TEST_F(RedisClusterTest, EvalRunsOnTheNodeOfItsTag) {
    const Script pair(
        "redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], ARGV[2]) "
        "return redis.call('MGET', KEYS[1], KEYS[2])");
    // Loaded on demand (NOSCRIPT) on whichever node serves the tag.
    for (const std::string tag : {"{acct:1}", "{acct:2}", "{acct:3}", "{acct:4}"}) {
        auto reply = client_->eval(pair, {tag + ".balance", tag + ".holds"}, {"100", "7"});
        ASSERT_TRUE(reply.ok()) << tag << ": " << reply.error().message;
        ASSERT_EQ(reply->elements.size(), 2u);
        EXPECT_EQ(reply->elements[0].text, "100");
        EXPECT_EQ(reply->elements[1].text, "7");
        const Endpoint owner = owner_of(tag + ".balance");
        auto stored = client_->command_on(owner, {"GET", tag + ".holds"});
        ASSERT_TRUE(stored.ok()) << stored.error().message;
        EXPECT_EQ(stored->text, "7");
    }
}

TEST_F(RedisClusterTest, CommandOnTheWrongNodeAnswersMovedWhileCommandIsRouted) {
    const std::string key = "routed";
    EXPECT_EQ(run(*client_, {"SET", key, "here"}).text, "OK");
    const Endpoint owner = owner_of(key);
    int moved = 0;
    for (const Endpoint& node : client_->masters()) {
        if (node.port == owner.port) continue;
        auto wrong = client_->command_on(node, {"GET", key});
        ASSERT_FALSE(wrong.ok());
        EXPECT_EQ(wrong.error().code, "redis_error");
        EXPECT_EQ(wrong.error().message, "MOVED " + std::to_string(hash_slot(key)) +
                                             " 127.0.0.1:" + std::to_string(owner.port));
        ++moved;
    }
    EXPECT_EQ(moved, 2);
    EXPECT_EQ(run(*client_, {"GET", key}).text, "here");
}

TEST_F(RedisClusterTest, FollowsAskWhileASlotMigratesAndMovedAfterwards) {
    // A key whose slot holds nothing yet, so that it migrates without
    // MIGRATE; the client learns the slot map before the move.
    std::string key;
    Endpoint from;
    for (int i = 0; key.empty() && i < 100; ++i) {
        const std::string candidate = "migrating:" + std::to_string(i);
        from = owner_of(candidate);
        auto count = client_->command_on(
            from, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(hash_slot(candidate))});
        ASSERT_TRUE(count.ok()) << count.error().message;
        if (count->integer == 0) key = candidate;
    }
    ASSERT_FALSE(key.empty());
    const std::string slot = std::to_string(hash_slot(key));
    Endpoint to;
    for (const Endpoint& node : client_->masters()) {
        if (node.port != from.port) to = node;
    }
    const auto id_of = [&](const Endpoint& node) {
        auto id = client_->command_on(node, {"CLUSTER", "MYID"});
        EXPECT_TRUE(id.ok());
        return id.ok() ? id->text : std::string();
    };
    const std::string from_id = id_of(from);
    const std::string to_id = id_of(to);
    const auto on = [&](const Endpoint& node, const std::vector<std::string>& argv) {
        auto reply = client_->command_on(node, argv);
        EXPECT_TRUE(reply.ok()) << argv[0] << " " << argv[1] << ": " << reply.error().message;
    };
    on(to, {"CLUSTER", "SETSLOT", slot, "IMPORTING", from_id});
    on(from, {"CLUSTER", "SETSLOT", slot, "MIGRATING", to_id});

    // The old owner lacks the key: ASK, then ASKING + SET on the new one.
    EXPECT_EQ(run(*client_, {"SET", key, "moved"}).text, "OK");
    auto counted = client_->command_on(to, {"CLUSTER", "COUNTKEYSINSLOT", slot});
    ASSERT_TRUE(counted.ok());
    EXPECT_EQ(counted->integer, 1);

    // The migration ends: the new owner first, then every other master.
    on(to, {"CLUSTER", "SETSLOT", slot, "NODE", to_id});
    for (const Endpoint& node : client_->masters()) {
        if (node.port != to.port) on(node, {"CLUSTER", "SETSLOT", slot, "NODE", to_id});
    }
    // The client's map still names the old owner: MOVED, map reloaded.
    EXPECT_EQ(run(*client_, {"GET", key}).text, "moved");
    EXPECT_EQ(run(*client_, {"APPEND", key, "!"}).integer, 6);
    auto direct = client_->command_on(to, {"GET", key});
    ASSERT_TRUE(direct.ok()) << direct.error().message;
    EXPECT_EQ(direct->text, "moved!");
    // The map was reloaded: the old owner sees none of the next calls.
    on(from, {"CONFIG", "RESETSTAT"});
    for (int i = 0; i < 5; ++i) EXPECT_EQ(run(*client_, {"GET", key}).text, "moved!");
    auto stats = client_->command_on(from, {"INFO", "commandstats"});
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    EXPECT_EQ(stats->text.find("cmdstat_get:"), std::string::npos) << stats->text;
    // The old owner answers MOVED for the slot now.
    auto stale = client_->command_on(from, {"GET", key});
    ASSERT_FALSE(stale.ok());
    EXPECT_TRUE(stale.error().message.starts_with("MOVED " + slot)) << stale.error().message;
}

}  // namespace
}  // namespace tollgate::store::redis
