// The facade's WebSockets: a job's events become ComfyUI's messages, sent to
// the socket of the account and client id that queued it, and to no other.
#include "http/api/facade/facade_hub.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

namespace tollgate::http::facade {
namespace {

class RecordingSession final : public WsSession {
  public:
    bool send_text(std::string text) override {
        std::lock_guard lock(mu);
        if (!open) return false;
        sent.push_back(nlohmann::json::parse(text));
        return true;
    }
    bool send_binary(std::string) override { return open; }
    void close() override { open = false; }
    bool is_open() const override { return open; }

    std::vector<std::string> types() {
        std::lock_guard lock(mu);
        std::vector<std::string> out;
        for (const auto& m : sent) out.push_back(m["type"]);
        return out;
    }
    std::mutex mu;
    std::vector<nlohmann::json> sent;
    bool open = true;
};

class FacadeHubTest : public ::testing::Test {
  protected:
    std::optional<jobs::Job> stored_;
    core::ManualClock clock_{1'000};
    FacadeHub hub_{[this](const std::string&) { return stored_; }, clock_};
};

TEST_F(FacadeHubTest, ASucceededJobsMessagesInComfyUIsOrder) {
    auto ws = std::make_shared<RecordingSession>();
    ASSERT_TRUE(hub_.open(ws, "acct_a", "c1"));
    ASSERT_EQ(ws->sent.size(), 1u);
    EXPECT_EQ(ws->sent[0]["data"]["sid"], "c1");
    hub_.track("job_1", "acct_a", "c1", "9");
    hub_.on_event("job_1", "state", {{"state", "queued"}}, false);
    hub_.on_event("job_1", "state", {{"state", "running"}}, false);
    hub_.on_event("job_1", "progress", {{"node", "2"}}, false);
    hub_.on_event("job_1", "progress", {{"node", "2"}, {"value", 3}, {"max", 10}}, false);
    hub_.on_event("job_1", "state", {{"state", "succeeded"}, {"finished_ms", 5'000}}, true);
    EXPECT_EQ(ws->types(),
              (std::vector<std::string>{"status", "status", "status", "execution_start",
                                        "execution_cached", "executing", "progress", "executed",
                                        "execution_success", "status", "executing"}));
    const auto& executed = ws->sent[7]["data"];
    EXPECT_EQ(executed["node"], "9");
    EXPECT_EQ(executed["output"]["images"][0]["filename"], "job_1.png");
    EXPECT_EQ(ws->sent[8]["data"]["timestamp"], 5'000);
    EXPECT_EQ(ws->sent[3]["data"]["timestamp"], 1'000);
    EXPECT_TRUE(ws->sent.back()["data"]["node"].is_null());
    EXPECT_EQ(ws->sent.back()["data"]["prompt_id"], "job_1");
    EXPECT_EQ(ws->sent[9]["data"]["status"]["exec_info"]["queue_remaining"], 0);
    EXPECT_EQ(hub_.tracked(), 0u);
    // A second final (the event and the look at the store both saw it) sends nothing.
    hub_.on_event("job_1", "state", {{"state", "succeeded"}}, true);
    EXPECT_EQ(ws->sent.size(), 11u);
}

TEST_F(FacadeHubTest, FailuresAndCancelsEndWithTheirOwnMessage) {
    auto ws = std::make_shared<RecordingSession>();
    hub_.open(ws, "acct_a", "c1");
    hub_.track("job_f", "acct_a", "c1", "3");
    hub_.on_event("job_f", "state", {{"state", "failed"}, {"failure_reason", "oom"}}, true);
    hub_.track("job_c", "acct_a", "c1", "3");
    hub_.on_event("job_c", "state", {{"state", "cancelled"}}, true);
    std::vector<std::string> types = ws->types();
    EXPECT_EQ(std::count(types.begin(), types.end(), "execution_error"), 1);
    EXPECT_EQ(std::count(types.begin(), types.end(), "execution_interrupted"), 1);
    EXPECT_EQ(std::count(types.begin(), types.end(), "executed"), 0);
    for (const auto& m : ws->sent) {
        if (m["type"] == "execution_error") {
            EXPECT_EQ(m["data"]["exception_message"], "oom");
        }
    }
}

TEST_F(FacadeHubTest, OnlyTheOwnersSocketHearsAJob) {
    auto mine = std::make_shared<RecordingSession>();
    auto other_client = std::make_shared<RecordingSession>();
    auto other_account = std::make_shared<RecordingSession>();
    hub_.open(mine, "acct_a", "c1");
    hub_.open(other_client, "acct_a", "c2");
    hub_.open(other_account, "acct_b", "c1");  // the same client id, another account
    hub_.track("job_1", "acct_a", "c1", "3");
    hub_.on_event("job_1", "state", {{"state", "running"}}, false);
    hub_.on_event("job_1", "state", {{"state", "succeeded"}}, true);
    hub_.on_event("job_untracked", "state", {{"state", "running"}}, false);
    EXPECT_GT(mine->sent.size(), 3u);
    EXPECT_EQ(other_client->sent.size(), 1u);  // its own status on connect only
    EXPECT_EQ(other_account->sent.size(), 1u);
}

TEST_F(FacadeHubTest, AJobThatEndedBeforeItWasTrackedStillEnds) {
    auto ws = std::make_shared<RecordingSession>();
    hub_.open(ws, "acct_a", "c1");
    jobs::Job done;
    done.id = "job_quick";
    done.state = jobs::JobState::Succeeded;
    done.finished_ms = 2'000;
    stored_ = done;
    hub_.track("job_quick", "acct_a", "c1", "3");
    std::vector<std::string> types = ws->types();
    ASSERT_GE(types.size(), 4u);
    EXPECT_EQ(types.back(), "executing");
    EXPECT_NE(std::find(types.begin(), types.end(), "execution_success"), types.end());
    EXPECT_EQ(hub_.tracked(), 0u);
}

TEST_F(FacadeHubTest, ANewSocketWithTheSameIdsReplacesTheOldAndAClosedOneHearsNothing) {
    auto old_ws = std::make_shared<RecordingSession>();
    auto new_ws = std::make_shared<RecordingSession>();
    hub_.open(old_ws, "acct_a", "c1");
    hub_.open(new_ws, "acct_a", "c1");
    hub_.track("job_1", "acct_a", "c1", "3");
    EXPECT_EQ(old_ws->sent.size(), 1u);
    EXPECT_EQ(new_ws->sent.size(), 2u);
    hub_.close(new_ws);
    EXPECT_EQ(hub_.sockets(), 0u);
    hub_.on_event("job_1", "state", {{"state", "succeeded"}}, true);
    EXPECT_EQ(new_ws->sent.size(), 2u);
}

}  // namespace
}  // namespace tollgate::http::facade
