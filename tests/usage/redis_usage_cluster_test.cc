// The Redis usage backend on a real Redis Cluster of three masters: records
// of accounts on every master are written, read back and exported, each
// exactly once, and the streams are trimmed behind the only sink.
#include <gtest/gtest.h>

#include <set>

#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"
#include "support/redis_server.h"
#include "usage/export/exporter.h"
#include "usage/memory_remote_sink.h"
#include "usage/redis/redis_usage_lua.h"
#include "usage/redis/redis_usage_outbox.h"
#include "usage/redis/redis_usage_sink.h"
#include "usage/sample_record.h"

namespace tollgate::usage {
namespace {

TEST(RedisClusterUsageTest, RecordsOfAccountsOnEveryMasterAreExportedOnce) {
    testing::RedisCluster cluster(3);
    ASSERT_TRUE(cluster.ok()) << cluster.error();
    auto options = store::redis::parse_redis_url(cluster.url());
    ASSERT_TRUE(options.ok());
    auto client = store::redis::Client::connect(*options);
    ASSERT_TRUE(client.ok()) << client.error().message;
    ASSERT_TRUE((*client)->cluster());
    const std::string prefix = "tg:";
    auto sink = RedisUsageSink::open(**client, prefix).value();
    auto outbox = RedisUsageOutbox::open(**client, prefix).value();

    constexpr int kAccounts = 24;
    constexpr int kJobsEach = 5;
    std::set<int> masters_used;
    std::set<int> partitions_used;
    for (int a = 0; a < kAccounts; ++a) {
        const std::string account = "acct_" + std::to_string(a);
        // redis-cli --cluster create splits the slots evenly in three.
        const std::uint16_t slot = store::redis::hash_slot(usage_append_keys(prefix, account)[0]);
        masters_used.insert(slot < 5461 ? 0 : slot < 10923 ? 1 : 2);
        partitions_used.insert(store::redis::shard_of(account));
        for (int j = 0; j < kJobsEach; ++j) {
            UsageRecord r =
                sample_record(account + "_job_" + std::to_string(j), j, account, 1'000 * (j + 1));
            ASSERT_TRUE(sink->write(r).ok());
            ASSERT_TRUE(sink->write(r).ok());  // a replay: nothing more
        }
    }
    ASSERT_EQ(masters_used.size(), 3u);
    ASSERT_GE(partitions_used.size(), 3u);

    EXPECT_EQ(sink->find("acct_7_job_3").value()->tokens, 3);
    EXPECT_EQ(sink->for_account("acct_7").value().size(), static_cast<std::size_t>(kJobsEach));
    EXPECT_EQ(sink->execution_ms_since("acct_7", 4'000).value(), 2 * 1200);

    const std::int64_t total = kAccounts * kJobsEach;
    EXPECT_EQ(outbox->pending("mem://a").value(), total);
    std::vector<std::unique_ptr<RemoteSink>> sinks;
    auto owned = std::make_unique<MemorySink>("mem://a");
    MemorySink* memory = owned.get();
    sinks.push_back(std::move(owned));
    ExporterOptions export_options;
    export_options.batch_max = 16;
    Exporter exporter(*outbox, std::move(sinks), export_options);
    auto shipped = exporter.export_pending(0);
    ASSERT_TRUE(shipped.ok()) << shipped.error().message;
    EXPECT_EQ(*shipped, total);
    EXPECT_EQ(memory->rows(), static_cast<std::size_t>(total));
    for (const auto& [job, times] : memory->deliveries_of()) EXPECT_EQ(times, 1) << job;
    EXPECT_EQ(outbox->pending("mem://a").value(), 0);
    // The only sink has everything: every stream is trimmed empty.
    for (int p : partitions_used) {
        const std::string stream = usage_stream_key(prefix, p);
        EXPECT_EQ((*client)->command(stream, {"XLEN", stream}).value().integer, 0) << p;
    }
}

}  // namespace
}  // namespace tollgate::usage
