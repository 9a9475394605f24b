// A job waiting in the gateway's dispatch queue says where it stands: in the
// first state of its event stream, in later "state" events as jobs ahead of
// it leave, and in GET /v1/jobs/{id}.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http/api/job_service.h"
#include "http_api/fixture.h"
#include "http_api/recording_stream.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

using testing_support::RecordingStream;

class QueuePositionTest : public testing_support::GatewayFixture {
  protected:
    void SetUp() override {
        queue_capacity_ = 4;
        GatewayFixture::SetUp();
        ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
        key_ = key();
    }
    std::shared_ptr<RecordingStream> follow(const std::string& job_id) {
        Response r = call("GET", "/v1/jobs/" + job_id + "/events", "", key_);
        EXPECT_EQ(r.status, 200) << r.body;
        auto stream = std::make_shared<RecordingStream>();
        if (r.stream) r.stream(stream);
        return stream;
    }
    json get(const std::string& job_id) {
        Response r = call("GET", "/v1/jobs/" + job_id, "", key_);
        EXPECT_EQ(r.status, 200) << r.body;
        return json::parse(r.body);
    }
    std::string key_;
};

TEST_F(QueuePositionTest, AWaitingJobHearsItsPlaceUntilItRuns) {
    block();
    const std::string running = accepted();
    wait_running(1);
    const std::string second = accepted();
    const std::string third = accepted();

    EXPECT_FALSE(get(running).contains("queue_position"));
    EXPECT_EQ(get(second)["queue_position"], 0);
    EXPECT_EQ(get(third)["queue_position"], 1);

    auto stream = follow(third);
    auto events = stream->events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].first, "state");
    EXPECT_EQ(events[0].second["state"], "dispatched");
    EXPECT_EQ(events[0].second["queue_position"], 1);

    // The job ahead of it is cancelled: it is next.
    ASSERT_EQ(call("DELETE", "/v1/jobs/" + second, "", key_).status, 200);
    events = stream->events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].first, "state");
    EXPECT_EQ(events[1].second,
              (json{{"job_id", third}, {"state", "dispatched"}, {"queue_position", 0}}));
    EXPECT_EQ(get(third)["queue_position"], 0);

    release();  // both run and succeed
    wait_final(third);
    for (int i = 0; i < 4000 && stream->is_open(); ++i) {  // the final event follows the commit
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_FALSE(stream->is_open());
    events = stream->events();
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back().second["state"], "succeeded");
    EXPECT_FALSE(events.back().second.contains("queue_position"));
    EXPECT_FALSE(get(third).contains("queue_position"));
    for (std::size_t i = 2; i + 1 < events.size(); ++i) {
        EXPECT_FALSE(events[i].second.contains("queue_position")) << events[i].second.dump();
    }
}

}  // namespace
}  // namespace tollgate::http
