// JobEvents: the first state and the events after it reach every subscriber
// in order, the final one closes the streams, and the limits hold.
#include "http/api/job_events.h"

#include <gtest/gtest.h>

#include <mutex>

#include "http_api/recording_stream.h"

namespace tollgate::http {
namespace {

using FakeStream = testing_support::RecordingStream;

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

TEST(JobEventsTest, QueuePositionsReachTheStreamsOfJobsWhosePlaceChanged) {
    JobEvents events;
    std::vector<std::string> heard;  // what the listener got, as SSE messages
    events.set_listener([&](const std::string&, std::string_view event, const nlohmann::json& data,
                            bool) { heard.push_back(JobEvents::format(event, data)); });
    events.set_queue_positions({{"a", 0}, {"b", 1}});
    auto a = std::make_shared<FakeStream>();
    auto b = std::make_shared<FakeStream>();
    // The first state of a job that waits says where it stands.
    ASSERT_TRUE(events.subscribe("a", a, state("dispatched", false)));
    ASSERT_TRUE(events.subscribe("b", b, state("dispatched", false)));
    EXPECT_EQ(events.queue_position("b"), 1u);
    events.set_queue_positions({{"a", 0}, {"b", 1}});            // nothing moved
    events.set_queue_positions({{"c", 0}, {"a", 1}, {"b", 2}});  // c came before both
    events.set_queue_positions({{"c", 0}, {"b", 1}});            // a was cancelled
    events.set_queue_positions({{"b", 0}});                      // c runs
    events.set_queue_positions({});                              // b runs
    EXPECT_EQ(events.queue_position("b"), std::nullopt);
    events.publish("b", "state", {{"state", "queued"}}, false);
    EXPECT_EQ(a->sent(),
              "event: state\ndata: {\"queue_position\":0,\"state\":\"dispatched\"}\n\n"
              "event: state\ndata: "
              "{\"job_id\":\"a\",\"queue_position\":1,\"state\":\"dispatched\"}\n\n");
    EXPECT_EQ(b->sent(),
              "event: state\ndata: {\"queue_position\":1,\"state\":\"dispatched\"}\n\n"
              "event: state\ndata: "
              "{\"job_id\":\"b\",\"queue_position\":2,\"state\":\"dispatched\"}\n\n"
              "event: state\ndata: "
              "{\"job_id\":\"b\",\"queue_position\":1,\"state\":\"dispatched\"}\n\n"
              "event: state\ndata: "
              "{\"job_id\":\"b\",\"queue_position\":0,\"state\":\"dispatched\"}\n\n"
              "event: state\ndata: {\"state\":\"queued\"}\n\n");
    // The listener hears them too (c had no stream, but its place changed).
    EXPECT_EQ(heard.size(), 8u);
    // A job that left the queue, or whose state is final, has no position.
    auto later = std::make_shared<FakeStream>();
    ASSERT_TRUE(events.subscribe("b", later, state("running", false)));
    EXPECT_EQ(later->sent(), "event: state\ndata: {\"state\":\"running\"}\n\n");
    events.set_queue_positions({{"d", 0}});
    auto done = std::make_shared<FakeStream>();
    ASSERT_TRUE(events.subscribe("d", done, state("failed", true)));
    EXPECT_EQ(done->sent(), "event: state\ndata: {\"state\":\"failed\"}\n\n");
    events.publish("d", "state", {{"state", "failed"}}, true);
    EXPECT_EQ(events.queue_position("d"), std::nullopt);
}

}  // namespace
}  // namespace tollgate::http
