// JobEvents: the first state and the events after it reach every subscriber
// in order, the final one closes the streams, and the limits hold.
#include "http/api/job_events.h"

#include <gtest/gtest.h>

#include <mutex>

namespace tollgate::http {
namespace {

class FakeStream final : public ResponseStream {
  public:
    bool send(std::string bytes) override {
        std::lock_guard lock(mu_);
        if (!open_) return false;
        sent_ += bytes;
        return true;
    }
    void close() override {
        std::lock_guard lock(mu_);
        open_ = false;
    }
    bool is_open() const override {
        std::lock_guard lock(mu_);
        return open_;
    }
    std::string sent() const {
        std::lock_guard lock(mu_);
        return sent_;
    }

  private:
    mutable std::mutex mu_;
    bool open_ = true;
    std::string sent_;
};

JobEvents::Reader state(const std::string& name, bool final) {
    return [=]() -> std::optional<JobEvents::Snapshot> {
        return JobEvents::Snapshot{{{"state", name}}, final};
    };
}

TEST(JobEventsTest, FormatIsOneSseMessage) {
    EXPECT_EQ(JobEvents::format("state", {{"reason", "a\nb"}}),
              "event: state\ndata: {\"reason\":\"a\\nb\"}\n\n");
}

TEST(JobEventsTest, SubscribersGetTheStateThenEventsThenTheEnd) {
    JobEvents events;
    auto a = std::make_shared<FakeStream>();
    auto b = std::make_shared<FakeStream>();
    ASSERT_TRUE(events.subscribe("j1", a, state("dispatched", false)));
    events.publish("j1", "progress", {{"value", 1}}, false);
    ASSERT_TRUE(events.subscribe("j1", b, state("running", false)));
    events.publish("j2", "progress", {{"value", 9}}, false);  // another job
    events.publish("j1", "progress", {{"value", 2}}, false);
    EXPECT_EQ(events.streams(), 2u);
    events.publish("j1", "state", {{"state", "succeeded"}}, true);
    EXPECT_EQ(a->sent(),
              "event: state\ndata: {\"state\":\"dispatched\"}\n\n"
              "event: progress\ndata: {\"value\":1}\n\n"
              "event: progress\ndata: {\"value\":2}\n\n"
              "event: state\ndata: {\"state\":\"succeeded\"}\n\n");
    EXPECT_EQ(b->sent(),
              "event: state\ndata: {\"state\":\"running\"}\n\n"
              "event: progress\ndata: {\"value\":2}\n\n"
              "event: state\ndata: {\"state\":\"succeeded\"}\n\n");
    EXPECT_FALSE(a->is_open());
    EXPECT_FALSE(b->is_open());
    EXPECT_EQ(events.streams(), 0u);
}

TEST(JobEventsTest, AFinishedJobGetsItsStateAndIsClosedAtOnce) {
    JobEvents events;
    auto s = std::make_shared<FakeStream>();
    ASSERT_TRUE(events.subscribe("j", s, state("failed", true)));
    EXPECT_EQ(s->sent(), "event: state\ndata: {\"state\":\"failed\"}\n\n");
    EXPECT_FALSE(s->is_open());
    EXPECT_EQ(events.streams(), 0u);
    auto gone = std::make_shared<FakeStream>();
    ASSERT_TRUE(events.subscribe("missing", gone, [] { return std::nullopt; }));
    EXPECT_EQ(gone->sent(), "");
    EXPECT_FALSE(gone->is_open());
}

TEST(JobEventsTest, LimitsPerJobAndClosedStreamsFreeTheirPlace) {
    JobEvents events;
    std::vector<std::shared_ptr<FakeStream>> streams;
    for (std::size_t i = 0; i < JobEvents::kStreamsPerJobMax; ++i) {
        streams.push_back(std::make_shared<FakeStream>());
        ASSERT_TRUE(events.subscribe("j", streams.back(), state("dispatched", false)));
    }
    auto extra = std::make_shared<FakeStream>();
    EXPECT_FALSE(events.subscribe("j", extra, state("dispatched", false)));
    EXPECT_EQ(extra->sent(), "");
    streams[0]->close();  // a client left
    EXPECT_TRUE(events.subscribe("j", extra, state("dispatched", false)));
    EXPECT_EQ(events.streams(), JobEvents::kStreamsPerJobMax);
}

}  // namespace
}  // namespace tollgate::http
