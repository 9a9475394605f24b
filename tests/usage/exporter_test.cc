#include "usage/export/exporter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "usage/memory_remote_sink.h"
#include "usage/sample_record.h"
#include "usage/usage_fixture.h"

namespace tollgate::usage {
namespace {

// The exporter over the SQLite outbox and the Redis one.
class ExporterTest : public UsageTest {
  protected:
    void write_jobs(int from, int to) {
        for (int i = from; i < to; ++i) {
            ASSERT_NO_FATAL_FAILURE(write(sample_record("job_" + std::to_string(i), i)));
        }
    }
    // Builds an exporter over two memory sinks; returns them through a and b.
    std::unique_ptr<Exporter> make(ExporterOptions options, MemorySink** a, MemorySink** b) {
        auto first = std::make_unique<MemorySink>("mem://a");
        auto second = std::make_unique<MemorySink>("mem://b");
        *a = first.get();
        *b = second.get();
        std::vector<std::unique_ptr<RemoteSink>> sinks;
        sinks.push_back(std::move(first));
        sinks.push_back(std::move(second));
        return std::make_unique<Exporter>(*outbox_, std::move(sinks), options,
                                          [this](const std::string&, const core::Error&) {
                                              std::lock_guard lock(errors_mutex_);
                                              ++errors_;
                                          });
    }
    template <typename Pred>
    bool eventually(Pred pred) {
        for (int i = 0; i < 1000; ++i) {
            if (pred()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return pred();
    }

    std::mutex errors_mutex_;
    int errors_ = 0;
};
TOLLGATE_USAGE_BACKENDS(ExporterTest);

TEST_P(ExporterTest, ShipsEveryRecordInBatchesAndMovesTheCursor) {
    write_jobs(0, 25);
    MemorySink* a = nullptr;
    MemorySink* b = nullptr;
    ExporterOptions options;
    options.batch_max = 10;
    auto exporter = make(options, &a, &b);
    EXPECT_EQ(exporter->export_pending(0).value(), 25);
    EXPECT_EQ(a->rows(), 25u);
    EXPECT_EQ(a->batches(), (std::vector<std::size_t>{10, 10, 5}));
    EXPECT_EQ(outbox_->pending("mem://a").value(), 0);
    // The other sink has its own cursor and got nothing yet.
    EXPECT_EQ(b->rows(), 0u);
    EXPECT_EQ(outbox_->pending("mem://b").value(), 25);
    // Nothing new: nothing shipped again.
    EXPECT_EQ(exporter->export_pending(0).value(), 0);
    EXPECT_EQ(a->deliveries(), 25u);
    EXPECT_EQ(exporter->stats()[0].shipped, 25);
}

TEST_P(ExporterTest, ASinkThatIsDownKeepsItsRecordsUntilItIsBack) {
    write_jobs(0, 5);
    MemorySink* a = nullptr;
    MemorySink* b = nullptr;
    auto exporter = make(ExporterOptions{}, &a, &b);
    a->set_down(true);
    auto failed = exporter->export_pending(0);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, "sink_unavailable");
    EXPECT_EQ(outbox_->pending("mem://a").value(), 5);
    auto stats = exporter->stats();
    EXPECT_EQ(stats[0].failures, 1);
    EXPECT_EQ(stats[0].failing_for, 1);
    EXPECT_NE(stats[0].last_error.find("sink_unavailable"), std::string::npos);
    // The other sink is not held back.
    EXPECT_EQ(exporter->export_pending(1).value(), 5);

    write_jobs(5, 8);
    a->set_down(false);
    EXPECT_EQ(exporter->export_pending(0).value(), 8);
    EXPECT_EQ(a->rows(), 8u);
    EXPECT_EQ(a->deliveries(), 8u);
    EXPECT_EQ(exporter->stats()[0].failing_for, 0);
}

TEST_P(ExporterTest, AReplayAfterACrashBeforeTheCursorLeavesNoDuplicate) {
    write_jobs(0, 4);
    MemorySink* a = nullptr;
    MemorySink* b = nullptr;
    auto exporter = make(ExporterOptions{}, &a, &b);
    ASSERT_EQ(exporter->export_pending(0).value(), 4);
    // As if the gateway died after the sink's answer, before the cursor's
    // commit: the cursor goes back and the same records are shipped again.
    ASSERT_NO_FATAL_FAILURE(rewind_cursor("mem://a", partition_of("acct_1"), 0));
    ASSERT_EQ(exporter->export_pending(0).value(), 4);
    EXPECT_EQ(a->deliveries(), 8u);
    EXPECT_EQ(a->rows(), 4u);
}

TEST_P(ExporterTest, ThreadsShipNewRecordsAndRetryAFailingSinkWithBackoff) {
    MemorySink* a = nullptr;
    MemorySink* b = nullptr;
    ExporterOptions options;
    options.interval_ms = 60'000;  // only wake() ends an idle wait in time
    options.backoff_initial_ms = 5;
    options.backoff_max_ms = 20;
    auto exporter = make(options, &a, &b);
    b->set_down(true);
    exporter->start();
    write_jobs(0, 3);
    exporter->wake();
    ASSERT_TRUE(eventually([&] { return a->rows() == 3; }));
    ASSERT_TRUE(eventually([&] { return exporter->stats()[1].failures >= 3; }));
    EXPECT_EQ(b->rows(), 0u);
    {
        std::lock_guard lock(errors_mutex_);
        EXPECT_GE(errors_, 3);
    }
    // A failed sink is prepared again before each retry (a reconnect).
    EXPECT_GE(b->prepares(), 3);
    b->set_down(false);
    ASSERT_TRUE(eventually([&] { return b->rows() == 3; }));
    ASSERT_TRUE(eventually([&] { return exporter->stats()[1].failing_for == 0; }));
    EXPECT_EQ(outbox_->pending("mem://a").value(), 0);
    EXPECT_EQ(outbox_->pending("mem://b").value(), 0);
}

}  // namespace
}  // namespace tollgate::usage
