// The Redis usage backend beyond the contract suites: usage_append() itself,
// the job index, bounded reads, one outbox partition per shard, trimming, and
// the exporter over many partitions.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "usage/export/exporter.h"
#include "usage/memory_remote_sink.h"
#include "usage/sample_record.h"
#include "usage/usage_fixture.h"
#include "usage/usage_record_codec.h"

namespace tollgate::usage {
namespace {

using store::redis::Reply;

class RedisUsageBackendTest : public RedisUsageTest {
  protected:
    // Runs usage_append() for the record through a script of its own, with
    // the arguments as written; its reply.
    core::Result<Reply> append(const UsageRecord& r) {
        static const store::redis::Script script(std::string(usage_lua_prelude()) + R"lua(
return usage_append(ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
)lua");
        return client_->eval(
            script, usage_append_keys(redis_prefix_, r.account_id),
            {store::redis::shard_base(redis_prefix_, store::redis::shard_of(r.account_id)),
             store::redis::account_base(redis_prefix_, r.account_id), r.job_id,
             encode_usage_record(r), std::to_string(r.finished_ms),
             std::to_string(r.execution_ms)});
    }
    std::int64_t stream_length(int shard) {
        const std::string key = usage_stream_key(redis_prefix_, shard);
        return redis(key, {"XLEN", key}).integer;
    }
    std::unique_ptr<Exporter> exporter(MemorySink** sink, std::size_t batch_max) {
        auto owned = std::make_unique<MemorySink>("mem://a");
        *sink = owned.get();
        std::vector<std::unique_ptr<RemoteSink>> sinks;
        sinks.push_back(std::move(owned));
        ExporterOptions options;
        options.batch_max = batch_max;
        return std::make_unique<Exporter>(*outbox_, std::move(sinks), options);
    }
};

// ---- usage_append() ----

TEST_F(RedisUsageBackendTest, ThePreludeDefinesOneFunctionAndOnlyPrefixedLocals) {
    const std::string prelude = usage_lua_prelude();
    EXPECT_NE(prelude.find("\nlocal function usage_append(shard_base, account_base, job_id, "
                           "record, finished_ms, execution_ms)\n"),
              std::string::npos);
    // One local at the top level, so it counts once against Lua's limit.
    const std::regex top_level("(^|\n)local ");
    EXPECT_EQ(std::distance(std::sregex_iterator(prelude.begin(), prelude.end(), top_level),
                            std::sregex_iterator()),
              1);
    // Every local it names starts with usage_, so it clashes with no other prelude.
    const std::regex local_names("local\\s+(?:function\\s+)?([A-Za-z_0-9, ]+)");
    int names = 0;
    for (auto it = std::sregex_iterator(prelude.begin(), prelude.end(), local_names);
         it != std::sregex_iterator(); ++it) {
        std::string list = (*it)[1];
        std::size_t from = 0;
        while (from < list.size()) {
            std::size_t comma = list.find(',', from);
            std::string name = list.substr(from, comma - from);
            name.erase(0, name.find_first_not_of(' '));
            name.erase(name.find_last_not_of(' ') + 1);
            EXPECT_TRUE(name.starts_with("usage_")) << name;
            ++names;
            if (comma == std::string::npos) break;
            from = comma + 1;
        }
    }
    EXPECT_GE(names, 3);
}

TEST_F(RedisUsageBackendTest, ThePreludeRunsBesideAnotherPreludesLocals) {
    // The names the ledger's prelude defines, then this prelude, then a body
    // that uses both.
    const store::redis::Script script(
        "local d, check, fail, ACCT = 1, 2, 3, KEYS[1]\n" + std::string(usage_lua_prelude()) +
        "\nreturn {usage_append(ARGV[1], ARGV[2], ARGV[3], ARGV[4], 5, 6), d + check + fail}\n");
    const std::string account = "acct_1";
    auto r =
        client_->eval(script, usage_append_keys(redis_prefix_, account),
                      {store::redis::shard_base(redis_prefix_, store::redis::shard_of(account)),
                       store::redis::account_base(redis_prefix_, account), "job_1",
                       encode_usage_record(sample_record("job_1", 1))});
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->elements.size(), 2u);
    EXPECT_EQ(r->elements[0].integer, 1);
    EXPECT_EQ(r->elements[1].integer, 6);
}

TEST_F(RedisUsageBackendTest, UsageAppendIsIdempotentByJobId) {
    const UsageRecord r = sample_record("job_1", 10, "acct_1", 5000);
    auto first = append(r);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first->integer, 1);
    auto second = append(sample_record("job_1", 99, "acct_1", 6000));
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(second->integer, 0);

    const int shard = store::redis::shard_of("acct_1");
    EXPECT_EQ(stream_length(shard), 1);
    const std::string seq = usage_seq_key(redis_prefix_, shard);
    EXPECT_EQ(redis(seq, {"GET", seq}).text, "1");
    const std::vector<std::string> keys = usage_append_keys(redis_prefix_, "acct_1");
    EXPECT_EQ(redis(keys[0], {"HGET", keys[0], "job_1"}).text, encode_usage_record(r));
    EXPECT_EQ(redis(keys[1], {"ZSCORE", keys[1], "job_1"}).text, "5000");
    EXPECT_EQ(redis(keys[2], {"HGET", keys[2], "job_1"}).text, "1200");
    auto rows = outbox_->after(shard, 0, 10).value();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].seq, 1);
    EXPECT_EQ(rows[0].record, r);
    // The sink reads what the script wrote once its index is set.
    const std::string index = store::redis::owner_key(redis_prefix_, "job_1");
    redis(index, {"SET", index, "acct_1"});
    EXPECT_EQ(sink_->find("job_1").value(), std::optional<UsageRecord>(r));
}

TEST_F(RedisUsageBackendTest, UsageAppendRefusesWrongArgumentsBeforeAnyWrite) {
    static const store::redis::Script raw(std::string(usage_lua_prelude()) + R"lua(
return usage_append(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], 1)
)lua");
    const std::string account = "acct_1";
    const std::vector<std::string> keys = usage_append_keys(redis_prefix_, account);
    // finished_ms as a string, not a number.
    auto r =
        client_->eval(raw, keys,
                      {store::redis::shard_base(redis_prefix_, store::redis::shard_of(account)),
                       store::redis::account_base(redis_prefix_, account), "job_1",
                       encode_usage_record(sample_record("job_1", 1)), "42"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("usage_append"), std::string::npos) << r.error().message;
    for (const std::string& key : keys) EXPECT_EQ(redis(key, {"EXISTS", key}).integer, 0) << key;
}

TEST_F(RedisUsageBackendTest, AppendsOfOneShardTakeConsecutiveSeqs) {
    // Two accounts of one shard share its sequence and its stream.
    std::string a = "acct_1";
    std::string b;
    for (int i = 0; b.empty(); ++i) {
        const std::string id = "other_" + std::to_string(i);
        if (store::redis::shard_of(id) == store::redis::shard_of(a)) b = id;
    }
    write(sample_record("job_1", 1, a));
    write(sample_record("job_2", 1, b));
    write(sample_record("job_3", 1, a));
    auto rows = outbox_->after(store::redis::shard_of(a), 0, 10).value();
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].seq, 1);
    EXPECT_EQ(rows[1].seq, 2);
    EXPECT_EQ(rows[2].seq, 3);
    EXPECT_EQ(rows[1].record.account_id, b);
}

// ---- RedisUsageSink ----

TEST_F(RedisUsageBackendTest, ForAccountOrdersEqualFinishTimesByJobId) {
    write(sample_record("job_b", 1, "acct_1", 1000));
    write(sample_record("job_c", 1, "acct_1", 500));
    write(sample_record("job_a", 1, "acct_1", 1000));
    std::vector<std::string> ids;
    const std::vector<UsageRecord> records = sink_->for_account("acct_1").value();
    for (const UsageRecord& r : records) ids.push_back(r.job_id);
    EXPECT_EQ(ids, (std::vector<std::string>{"job_c", "job_a", "job_b"}));
}

TEST_F(RedisUsageBackendTest, ReadsManyRecordsInChunks) {
    // More records than one read of records (256) or of figures takes.
    constexpr int kRecords = 1'100;
    std::int64_t expected = 0;
    for (int i = 0; i < kRecords; ++i) {
        UsageRecord r = sample_record("job_" + std::to_string(100'000 + i), 1, "acct_1", i);
        r.execution_ms = i;
        expected += i;
        write(r);
    }
    EXPECT_EQ(sink_->execution_ms_since("acct_1", 0).value(), expected);
    EXPECT_EQ(sink_->execution_ms_since("acct_1", kRecords - 2).value(), 2 * kRecords - 3);
    auto all = sink_->for_account("acct_1").value();
    ASSERT_EQ(all.size(), static_cast<std::size_t>(kRecords));
    for (int i = 0; i < kRecords; ++i) ASSERT_EQ(all[i].finished_ms, i);
}

TEST_F(RedisUsageBackendTest, ReadsBeyondTheBoundAreRefusedNotCut) {
    redis_sink_->set_scan_records_max_for_test(3);
    for (int i = 0; i < 3; ++i) {
        write(sample_record("job_" + std::to_string(i), 1, "acct_1", 1000 + i));
    }
    EXPECT_EQ(sink_->for_account("acct_1").value().size(), 3u);  // exactly the bound
    EXPECT_EQ(sink_->execution_ms_since("acct_1", 0).value(), 3 * 1200);
    write(sample_record("job_3", 1, "acct_1", 1003));
    auto all = sink_->for_account("acct_1");
    ASSERT_FALSE(all.ok());
    EXPECT_EQ(all.error().code, "too_many_records");
    auto sum = sink_->execution_ms_since("acct_1", 0);
    ASSERT_FALSE(sum.ok());
    EXPECT_EQ(sum.error().code, "too_many_records");
    // A narrower window is within the bound again.
    EXPECT_EQ(sink_->execution_ms_since("acct_1", 1001).value(), 3 * 1200);
}

TEST_F(RedisUsageBackendTest, AnIndexWithoutItsRecordFindsNothingUntilTheWriteCompletes) {
    // As if a writer died between the index and its script.
    const std::string index = store::redis::owner_key(redis_prefix_, "job_1");
    redis(index, {"SET", index, "acct_1"});
    EXPECT_FALSE(sink_->find("job_1").value().has_value());
    write(sample_record("job_1", 10));
    EXPECT_EQ(sink_->find("job_1").value(), std::optional<UsageRecord>(sample_record("job_1", 10)));
}

TEST_F(RedisUsageBackendTest, AJobIdOfAnotherAccountKeepsTheFirstRecord) {
    write(sample_record("job_1", 10, "acct_1"));
    write(sample_record("job_1", 20, "acct_2"));
    EXPECT_EQ(sink_->find("job_1").value()->account_id, "acct_1");
    EXPECT_TRUE(sink_->for_account("acct_2").value().empty());
    EXPECT_EQ(outbox_->pending("mem://a").value(), 1);
}

TEST_F(RedisUsageBackendTest, AnOversizedRecordIsRefusedWithoutAnyWrite) {
    UsageRecord r = sample_record("job_1", 10);
    r.failure_reason = std::string(kUsageRecordBytesMax, 'x');
    auto s = sink_->write(r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "invalid_usage_record");
    const std::string index = store::redis::owner_key(redis_prefix_, "job_1");
    EXPECT_EQ(redis(index, {"EXISTS", index}).integer, 0);
    EXPECT_EQ(outbox_->pending("mem://a").value(), 0);
}

TEST_F(RedisUsageBackendTest, AStoredRecordThatDoesNotDecodeIsAnError) {
    write(sample_record("job_1", 10));
    const std::string key = usage_append_keys(redis_prefix_, "acct_1")[0];
    redis(key, {"HSET", key, "job_1", "{\"v\":1}"});
    auto found = sink_->find("job_1");
    ASSERT_FALSE(found.ok());
    EXPECT_EQ(found.error().code, "invalid_usage_record");
    EXPECT_NE(found.error().message.find("job_1"), std::string::npos);
    auto all = sink_->for_account("acct_1");
    ASSERT_FALSE(all.ok());
    EXPECT_EQ(all.error().code, "invalid_usage_record");
}

TEST_F(RedisUsageBackendTest, RecordsAnEarlierVersionStoredReadAsNotMeasured) {
    // The text of the version before the meter fields: the same keys, without meter_*.
    const auto old_text = [](const UsageRecord& r) {
        std::string text = encode_usage_record(r);
        text.erase(text.find(",\"meter_wall_ms\""));
        return text + "}";
    };
    const auto unmeasured = [](UsageRecord r) {
        r.meter_wall_ms = -1;
        r.meter_gpu_peak_bytes = -1;
        return r;
    };
    write(sample_record("job_1", 10));
    const std::string key = usage_append_keys(redis_prefix_, "acct_1")[0];
    redis(key, {"HSET", key, "job_1", old_text(sample_record("job_1", 10))});
    EXPECT_EQ(sink_->find("job_1").value(),
              std::optional<UsageRecord>(unmeasured(sample_record("job_1", 10))));
    // An outbox entry of that version reads the same way, next to a new one.
    const int p = store::redis::shard_of("acct_1");
    const std::string seq = usage_seq_key(redis_prefix_, p);
    const std::string stream = usage_stream_key(redis_prefix_, p);
    redis(seq, {"INCR", seq});
    redis(stream,
          {"XADD", stream, "2-1", "job", "job_2", "r", old_text(sample_record("job_2", 10))});
    auto rows = outbox_->after(p, 0, 10);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[0].record, sample_record("job_1", 10));  // as written, with its figures
    EXPECT_EQ((*rows)[1].record, unmeasured(sample_record("job_2", 10)));
}

TEST_F(RedisUsageBackendTest, RefusesABadPrefix) {
    auto sink = RedisUsageSink::open(*client_, "a{b");
    ASSERT_FALSE(sink.ok());
    EXPECT_EQ(sink.error().code, "invalid_prefix");
    auto outbox = RedisUsageOutbox::open(*client_, "");
    ASSERT_FALSE(outbox.ok());
    EXPECT_EQ(outbox.error().code, "invalid_prefix");
}

// ---- RedisUsageOutbox ----

TEST_F(RedisUsageBackendTest, RecordsOfAccountsInDifferentShardsLandInTheirPartitions) {
    const std::vector<std::string> accounts = accounts_in_distinct_shards(5);
    for (const std::string& a : accounts) {
        for (int i = 0; i < 3; ++i) write(sample_record(a + "_job_" + std::to_string(i), 1, a));
    }
    std::size_t seen = 0;
    for (int p = 0; p < outbox_->partitions(); ++p) {
        auto rows = outbox_->after(p, 0, 100).value();
        seen += rows.size();
        for (const OutboxRow& row : rows) {
            EXPECT_EQ(store::redis::shard_of(row.record.account_id), p) << row.record.job_id;
        }
    }
    EXPECT_EQ(seen, 15u);
    for (const std::string& a : accounts) {
        auto rows = outbox_->after(store::redis::shard_of(a), 0, 100).value();
        ASSERT_EQ(rows.size(), 3u) << a;
        EXPECT_EQ(rows[0].seq, 1);
        EXPECT_EQ(rows[2].record.job_id, a + "_job_2");
    }
    EXPECT_EQ(outbox_->pending("mem://a").value(), 15);

    MemorySink* sink = nullptr;
    auto ex = exporter(&sink, 4);
    EXPECT_EQ(ex->export_pending(0).value(), 15);
    EXPECT_EQ(sink->rows(), 15u);
    EXPECT_EQ(sink->deliveries(), 15u);  // each exactly once
    for (const auto& [job, times] : sink->deliveries_of()) EXPECT_EQ(times, 1) << job;
    EXPECT_EQ(outbox_->pending("mem://a").value(), 0);
    for (const std::string& a : accounts) {
        EXPECT_EQ(outbox_->cursor("mem://a", store::redis::shard_of(a)).value(), 3);
    }
    EXPECT_EQ(ex->export_pending(0).value(), 0);

    // New records in two of the shards: only they are shipped.
    write(sample_record("late_1", 1, accounts[0]));
    write(sample_record("late_2", 1, accounts[4]));
    EXPECT_EQ(ex->export_pending(0).value(), 2);
    EXPECT_EQ(sink->deliveries(), 17u);
}

TEST_F(RedisUsageBackendTest, ABusyPartitionDoesNotStarveAQuietOne) {
    const std::vector<std::string> accounts = accounts_in_distinct_shards(2);
    const std::string& busy = accounts[0];  // the lower partition, visited first
    const std::string& quiet = accounts[1];
    for (int i = 0; i < 50; ++i) write(sample_record("busy_" + std::to_string(i), 1, busy));
    for (int i = 0; i < 3; ++i) write(sample_record("quiet_" + std::to_string(i), 1, quiet));
    MemorySink* sink = nullptr;
    auto ex = exporter(&sink, 10);
    EXPECT_EQ(ex->export_pending(0).value(), 53);
    const auto batches = sink->batch_jobs();
    ASSERT_EQ(batches.size(), 6u);
    EXPECT_EQ(sink->batches(), (std::vector<std::size_t>{10, 10, 10, 10, 10, 3}));
    // The first batch fills from the busy partition; the second starts after
    // it, so it takes the quiet partition's records before more busy ones.
    for (const std::string& job : batches[0]) EXPECT_TRUE(job.starts_with("busy_")) << job;
    EXPECT_EQ(batches[1][0], "quiet_0");
    EXPECT_EQ(batches[1][2], "quiet_2");
    EXPECT_EQ(batches[1][3], "busy_10");
    EXPECT_EQ(sink->rows(), 53u);
    EXPECT_EQ(sink->deliveries(), 53u);
}

TEST_F(RedisUsageBackendTest, AnEntryThatDoesNotDecodeIsAnErrorNamingIt) {
    write(sample_record("job_1", 1));
    const int p = store::redis::shard_of("acct_1");
    const std::string seq = usage_seq_key(redis_prefix_, p);
    const std::string stream = usage_stream_key(redis_prefix_, p);
    redis(seq, {"INCR", seq});
    redis(stream, {"XADD", stream, "2-1", "job", "job_2", "r", "{not json"});
    write(sample_record("job_3", 1));
    auto rows = outbox_->after(p, 0, 10);
    ASSERT_FALSE(rows.ok());
    EXPECT_EQ(rows.error().code, "invalid_usage_record");
    EXPECT_NE(rows.error().message.find(stream + " entry 2-1"), std::string::npos)
        << rows.error().message;
    // Not skipped: the exporter stops at it and ships nothing past it.
    MemorySink* sink = nullptr;
    auto ex = exporter(&sink, 10);
    auto shipped = ex->export_pending(0);
    ASSERT_FALSE(shipped.ok());
    EXPECT_EQ(shipped.error().code, "invalid_usage_record");
    EXPECT_EQ(sink->deliveries(), 0u);
    // Before it, it reads fine.
    EXPECT_EQ(outbox_->after(p, 0, 1).value().at(0).record.job_id, "job_1");

    // An entry of another shape is refused the same way.
    redis(seq, {"INCR", seq});
    redis(stream, {"XADD", stream, "4-2", "job", "job_4"});
    auto shaped = outbox_->after(p, 3, 10);
    ASSERT_FALSE(shaped.ok());
    EXPECT_NE(shaped.error().message.find("entry 4-2"), std::string::npos);
}

TEST_F(RedisUsageBackendTest, AdvanceTrimsBelowTheLowestCursorOfTheKnownSinks) {
    for (int i = 1; i <= 5; ++i) write(sample_record("job_" + std::to_string(i), 1));
    const int p = store::redis::shard_of("acct_1");
    ASSERT_EQ(stream_length(p), 5);
    // Sink b has read its cursor, so it holds back trimming from then on.
    EXPECT_EQ(outbox_->cursor("b", p).value(), 0);
    ASSERT_TRUE(outbox_->advance("a", p, 3).ok());
    EXPECT_EQ(stream_length(p), 5);
    ASSERT_TRUE(outbox_->advance("b", p, 2).ok());
    EXPECT_EQ(stream_length(p), 3);  // seqs 1 and 2 went
    auto rest = outbox_->after(p, 0, 10).value();
    ASSERT_EQ(rest.size(), 3u);
    EXPECT_EQ(rest[0].seq, 3);
    EXPECT_EQ(outbox_->after(p, 2, 10).value().size(), 3u);
    EXPECT_EQ(outbox_->pending("a").value(), 2);
    EXPECT_EQ(outbox_->pending("b").value(), 3);

    // A retired sink holds back trimming until it is forgotten.
    ASSERT_TRUE(outbox_->advance("a", p, 5).ok());
    EXPECT_EQ(stream_length(p), 3);
    ASSERT_TRUE(redis_outbox_->forget("b").ok());
    EXPECT_EQ(outbox_->pending("b").value(), 5);  // its cursors went too
    ASSERT_TRUE(outbox_->advance("a", p, 5).ok());
    EXPECT_EQ(stream_length(p), 0);
    EXPECT_EQ(outbox_->pending("a").value(), 0);
    // New records still take the next seqs.
    write(sample_record("job_6", 1));
    auto next = outbox_->after(p, 5, 10).value();
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].seq, 6);
}

TEST_F(RedisUsageBackendTest, CursorsArePerPartition) {
    const std::vector<std::string> accounts = accounts_in_distinct_shards(3);
    for (const std::string& a : accounts) {
        for (int i = 0; i < 3; ++i) write(sample_record(a + "_" + std::to_string(i), 1, a));
    }
    const int p0 = store::redis::shard_of(accounts[0]);
    const int p1 = store::redis::shard_of(accounts[1]);
    EXPECT_EQ(outbox_->pending("s").value(), 9);
    ASSERT_TRUE(outbox_->advance("s", p0, 2).ok());
    EXPECT_EQ(outbox_->pending("s").value(), 7);
    EXPECT_EQ(outbox_->cursor("s", p0).value(), 2);
    EXPECT_EQ(outbox_->cursor("s", p1).value(), 0);
    // A partition's newest seq bounds its own cursor only.
    auto beyond = outbox_->advance("s", p1, 4);
    ASSERT_FALSE(beyond.ok());
    EXPECT_EQ(beyond.error().code, "invalid_cursor");
    int empty = 0;
    while (empty == p0 || empty == p1 || empty == store::redis::shard_of(accounts[2])) ++empty;
    auto nothing = outbox_->advance("s", empty, 1);
    ASSERT_FALSE(nothing.ok());
    EXPECT_EQ(nothing.error().code, "invalid_cursor");
    EXPECT_TRUE(outbox_->advance("s", empty, 0).ok());
    EXPECT_EQ(outbox_->pending("s").value(), 7);
}

}  // namespace
}  // namespace tollgate::usage
