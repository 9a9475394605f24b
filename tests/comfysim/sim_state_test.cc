#include "comfysim/sim_state.h"

#include <gtest/gtest.h>

#include "comfysim/node_table.h"
#include "comfysim/storage.h"
#include "comfysim/validate.h"
#include "test_support.h"

namespace tollgate::comfysim {
namespace {

using testing::ddcolor_graph;
using testing::names;
using V = std::vector<std::string>;

class SimTest : public ::testing::Test {
  protected:
    explicit SimTest(SimOptions options = zero_cost()) : storage_(tmp_.path()) {
        options_ = std::move(options);
        testing::write_file(tmp_.path() / "input" / "gw" / "person_bw.png",
                            testing::gray_png(40, 30));
    }
    static SimOptions zero_cost() {
        SimOptions o;
        o.cost_base_seconds = 0;
        o.cost_per_megapixel_seconds = 0;
        o.cold_start_min_seconds = o.cold_start_max_seconds = 0;
        return o;
    }
    Sim& sim() {
        if (!sim_)
            sim_ = std::make_unique<Sim>(options_, NodeTable::standard(), storage_, sink_, clock_);
        return *sim_;
    }
    Json body(const std::string& prefix = "ddcolor/person", const char* client = "c1") {
        Json b = {
            {"prompt", ddcolor_graph("gw/person_bw.png", 512, "ddcolor_modelscope.pth", prefix)}};
        if (client != nullptr) b["client_id"] = client;
        return b;
    }
    std::string submit_ok(const Json& b) {
        const Reply r = sim().submit(b);
        EXPECT_EQ(r.status, 200) << r.body.dump();
        return r.body.value("prompt_id", "");
    }

    testing::TempDir tmp_;
    Storage storage_;
    testing::RecordingSink sink_;
    core::ManualClock clock_{1'732'780'800'000};
    SimOptions options_;
    std::unique_ptr<Sim> sim_;
};

TEST_F(SimTest, SuccessfulRunSendsComfyEventsInOrder) {
    const std::string id = submit_ok(body());
    EXPECT_EQ(names(sink_.take()), V{"status(1)"});
    ASSERT_TRUE(sim().run_next());
    const auto events = sink_.take();
    EXPECT_EQ(names(events),
              (V{"status(1)", "execution_start", "execution_cached", "executing:1", "executing:2",
                 "executing:3", "executed:3", "execution_success", "status(0)", "executing:null"}));
    for (const auto& e : events) {
        if (e.type == "status") {
            EXPECT_FALSE(e.sid.has_value());
        } else {
            EXPECT_EQ(e.sid, std::optional<std::string>("c1")) << e.type;
            EXPECT_EQ(e.data["prompt_id"], id) << e.type;
        }
    }
    EXPECT_EQ(
        events[2].data,
        Json({{"nodes", Json::array()}, {"prompt_id", id}, {"timestamp", 1'732'780'800'000}}));
    EXPECT_EQ(events[4].data, Json({{"node", "2"}, {"display_node", "2"}, {"prompt_id", id}}));
    const Json image = {
        {"filename", "person_00001_.png"}, {"subfolder", "ddcolor"}, {"type", "output"}};
    EXPECT_EQ(events[6].data["output"], Json({{"images", Json::array({image})}}));
    EXPECT_EQ(events[6].data["display_node"], "3");
    EXPECT_TRUE(std::filesystem::exists(tmp_.path() / "output" / "ddcolor" / "person_00001_.png"));
    EXPECT_FALSE(sim().run_next());
}

TEST_F(SimTest, HistoryIsEmptyUntilDoneThenHoldsTheRun) {
    const std::string id = submit_ok(body());
    EXPECT_EQ(sim().history_item(id), Json::object());
    EXPECT_EQ(sim().queue_view()["queue_pending"].size(), 1u);
    EXPECT_EQ(sim().queue_view()["queue_pending"][0].size(), 5u);
    ASSERT_TRUE(sim().run_next());
    const Json h = sim().history_item(id)[id];
    EXPECT_EQ(h["prompt"][0], 0);
    EXPECT_EQ(h["prompt"][1], id);
    EXPECT_EQ(h["prompt"][3]["client_id"], "c1");
    EXPECT_EQ(h["prompt"][3]["create_time"], 1'732'780'800'000);
    EXPECT_EQ(h["prompt"][4], Json::array({"3"}));
    EXPECT_EQ(h["outputs"]["3"]["images"][0]["filename"], "person_00001_.png");
    EXPECT_EQ(h["status"]["status_str"], "success");
    EXPECT_EQ(h["status"]["completed"], true);
    V recorded;
    for (const auto& m : h["status"]["messages"]) recorded.push_back(m[0]);
    EXPECT_EQ(recorded, (V{"execution_start", "execution_cached", "execution_success"}));
    EXPECT_EQ(h["meta"]["3"]["parent_node"], nullptr);
    EXPECT_EQ(sim().queue_info()["exec_info"]["queue_remaining"], 0);
}

TEST_F(SimTest, IdenticalRerunIsServedFromTheCache) {
    submit_ok(body());
    ASSERT_TRUE(sim().run_next());
    sink_.take();
    submit_ok(body());
    ASSERT_TRUE(sim().run_next());
    const auto events = sink_.take();
    EXPECT_EQ(names(events), (V{"status(1)", "status(1)", "execution_start", "execution_cached",
                                "executed:3", "execution_success", "status(0)", "executing:null"}));
    EXPECT_EQ(events[3].data["nodes"], Json::array({"1", "2", "3"}));
    EXPECT_EQ(events[4].data["output"]["images"][0]["filename"], "person_00001_.png");
    EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "output" / "ddcolor" / "person_00002_.png"));
    // A new prefix re-runs only SaveImage.
    submit_ok(body("ddcolor/again"));
    ASSERT_TRUE(sim().run_next());
    const auto partial = sink_.take();
    EXPECT_EQ(partial[3].data["nodes"], Json::array({"1", "2"}));
    EXPECT_EQ(names(partial)[4], "executing:3");
}

TEST_F(SimTest, NewBytesUnderTheSameNameInvalidateTheCache) {
    submit_ok(body());
    ASSERT_TRUE(sim().run_next());
    testing::write_file(tmp_.path() / "input" / "gw" / "person_bw.png",
                        testing::gray_png(40, 30, 50));
    sink_.take();
    submit_ok(body());
    ASSERT_TRUE(sim().run_next());
    const auto events = sink_.take();
    EXPECT_EQ(events[3].data["nodes"], Json::array());
    EXPECT_TRUE(std::filesystem::exists(tmp_.path() / "output" / "ddcolor" / "person_00002_.png"));
}

TEST_F(SimTest, PromptWithoutClientIdSendsOnlyStatus) {
    submit_ok(body("ddcolor/person", nullptr));
    ASSERT_TRUE(sim().run_next());
    EXPECT_EQ(names(sink_.take()), (V{"status(1)", "status(1)", "status(0)"}));
}

TEST_F(SimTest, QueueRunsInPriorityOrder) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        const Reply r = sim().submit(body("p" + std::to_string(i)));
        EXPECT_EQ(r.body["number"], i);
        ids.push_back(r.body["prompt_id"]);
    }
    Json front = body("front");
    front["front"] = true;
    const Reply f = sim().submit(front);
    EXPECT_EQ(f.body["number"], -3);
    Json numbered = body("numbered");
    numbered["number"] = 0.5;
    const Reply n = sim().submit(numbered);
    EXPECT_TRUE(n.body["number"].is_number_float());
    EXPECT_EQ(n.body.dump().find("\"number\":0.5") != std::string::npos, true);
    EXPECT_EQ(sim().queue_info()["exec_info"]["queue_remaining"], 5);
    while (sim().run_next()) {
    }
    V order;
    const Json history = sim().history(std::nullopt, -1);
    for (const auto& [id, entry] : history.items()) order.push_back(id);
    EXPECT_EQ(order, (V{f.body["prompt_id"], ids[0], n.body["prompt_id"], ids[1], ids[2]}));
    // The counter keeps counting: four requests without "number" came before.
    EXPECT_EQ(sim().submit(body()).body["number"], 4);
}

TEST_F(SimTest, PromptIdRules) {
    Json b = body();
    b["prompt_id"] = "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11";
    EXPECT_EQ(sim().submit(b).body["prompt_id"], "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11");
    b["prompt_id"] = "not-a-uuid";
    const Reply bad = sim().submit(b);
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.body["error"]["type"], "invalid_prompt_id");
    EXPECT_EQ(bad.body["node_errors"], Json::object());
    b["prompt_id"] = nullptr;
    EXPECT_TRUE(is_canonical_uuid(sim().submit(b).body["prompt_id"].get<std::string>()));
    const Reply none = sim().submit(Json{{"client_id", "c1"}});
    EXPECT_EQ(none.status, 400);
    EXPECT_EQ(none.body["error"]["type"], "no_prompt");
    EXPECT_EQ(sim().submit(Json{{"prompt", Json::array()}}).status, 500);
}

TEST_F(SimTest, InvalidPromptIsNotQueued) {
    const Reply r =
        sim().submit({{"prompt", ddcolor_graph("gw/missing.png")}, {"client_id", "c1"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body["node_errors"]["1"]["errors"][0]["type"], "custom_validation_failed");
    EXPECT_EQ(sim().queue_info()["exec_info"]["queue_remaining"], 0);
    EXPECT_TRUE(sink_.take().empty());
}

TEST_F(SimTest, QueueDeleteAndClear) {
    const std::string a = submit_ok(body("a"));
    submit_ok(body("b"));
    submit_ok(body("c"));
    sim().queue_command({{"delete", Json::array({a})}});
    EXPECT_EQ(sim().queue_view()["queue_pending"].size(), 2u);
    sim().queue_command({{"clear", true}});
    EXPECT_EQ(sim().queue_view()["queue_pending"].size(), 0u);
    EXPECT_EQ(names(sink_.take()),
              (V{"status(1)", "status(2)", "status(3)", "status(2)", "status(0)"}));
    EXPECT_FALSE(sim().run_next());
}

TEST_F(SimTest, HistoryDeleteClearAndWindow) {
    V ids;
    for (int i = 0; i < 4; ++i) {
        ids.push_back(submit_ok(body("w" + std::to_string(i))));
        ASSERT_TRUE(sim().run_next());
    }
    Json last_two = sim().history(2, -1);
    ASSERT_EQ(last_two.size(), 2u);
    EXPECT_EQ(last_two.begin().key(), ids[2]);
    Json offset = sim().history(1, 1);
    EXPECT_EQ(offset.begin().key(), ids[1]);
    sim().history_command({{"delete", Json::array({ids[0]})}});
    EXPECT_EQ(sim().history(std::nullopt, -1).size(), 3u);
    EXPECT_EQ(sim().history_item(ids[0]), Json::object());
    sim().history_command({{"clear", true}});
    EXPECT_TRUE(sim().history(std::nullopt, -1).empty());
}

TEST(SimLimitsTest, HistoryHoldsTenThousandByDefault) {
    EXPECT_EQ(kHistoryEntriesMax, 10'000u);
    EXPECT_EQ(SimOptions{}.history_entries_max, 10'000u);
}

TEST_F(SimTest, HistoryDropsTheOldestPastItsCap) {
    options_.history_entries_max = 5;
    const std::string first = submit_ok(body());
    ASSERT_TRUE(sim().run_next());
    std::string second;
    for (std::size_t i = 0; i < 5; ++i) {
        const std::string id = submit_ok(body());
        if (i == 0) second = id;
        ASSERT_TRUE(sim().run_next());
        sink_.take();
    }
    EXPECT_EQ(sim().history(std::nullopt, -1).size(), 5u);
    EXPECT_EQ(sim().history_item(first), Json::object());
    EXPECT_FALSE(sim().history_item(second).empty());
}

class SimCostTest : public SimTest {
  protected:
    static SimOptions options() {
        SimOptions o;
        o.cost_base_seconds = 0.5;
        o.cost_per_megapixel_seconds = 2.0;
        o.cold_start_min_seconds = o.cold_start_max_seconds = 0;
        return o;
    }
    SimCostTest() : SimTest(options()) {
        options_.gpu_wait_for_test = [this](double s) {
            waits_.push_back(s);
            node_during_wait_ = sim_->executing_node_for("c1");
            if (interrupt_during_wait_) sim_->interrupt("");
        };
        testing::write_file(tmp_.path() / "input" / "gw" / "person_bw.png",
                            testing::gray_png(1000, 500));
    }
    std::vector<double> waits_;
    std::optional<std::string> node_during_wait_;
    bool interrupt_during_wait_ = false;
};

TEST_F(SimCostTest, CostIsBasePlusPerMegapixelOfTheInput) {
    submit_ok(body());
    ASSERT_TRUE(sim().run_next());
    ASSERT_EQ(waits_.size(), 1u);
    EXPECT_DOUBLE_EQ(waits_[0], 0.5 + 2.0 * 0.5);
    EXPECT_EQ(node_during_wait_, std::optional<std::string>("2"));
}

TEST_F(SimCostTest, InterruptDuringDdcolorStopsBeforeSave) {
    interrupt_during_wait_ = true;
    const std::string id = submit_ok(body());
    ASSERT_TRUE(sim().run_next());
    const auto events = sink_.take();
    EXPECT_EQ(names(events), (V{"status(1)", "status(1)", "execution_start", "execution_cached",
                                "executing:1", "executing:2", "executing:3",
                                "execution_interrupted", "status(0)", "executing:null"}));
    const Json& d = events[7].data;
    EXPECT_EQ(d["node_id"], "3");
    EXPECT_EQ(d["node_type"], "SaveImage");
    EXPECT_EQ(d["executed"], Json::array({"1", "2"}));
    const Json h = sim().history_item(id)[id];
    EXPECT_EQ(h["status"]["status_str"], "error");
    EXPECT_EQ(h["status"]["completed"], false);
    EXPECT_EQ(h["status"]["messages"].back()[0], "execution_interrupted");
}

TEST_F(SimTest, InterruptForAnotherPromptIsIgnored) {
    submit_ok(body());
    sim().interrupt("6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11");
    ASSERT_TRUE(sim().run_next());
    const auto events = sink_.take();
    EXPECT_EQ(names(events)[8], "execution_success");
}

class SimFailureTest : public SimTest {
  protected:
    static SimOptions options() {
        SimOptions o = zero_cost();
        o.fail_rate = 1.0;
        return o;
    }
    SimFailureTest() : SimTest(options()) {}
};

TEST_F(SimFailureTest, FailedRunEndsWithExecutionError) {
    const std::string id = submit_ok(body());
    ASSERT_TRUE(sim().run_next());
    const auto events = sink_.take();
    EXPECT_EQ(names(events),
              (V{"status(1)", "status(1)", "execution_start", "execution_cached", "executing:1",
                 "executing:2", "execution_error", "status(0)", "executing:null"}));
    const Json& d = events[6].data;
    EXPECT_EQ(d["prompt_id"], id);
    EXPECT_EQ(d["node_id"], "2");
    EXPECT_EQ(d["node_type"], "DDColor_Colorize");
    EXPECT_EQ(d["executed"], Json::array({"1"}));
    EXPECT_EQ(d["exception_type"], "torch.OutOfMemoryError");
    EXPECT_TRUE(d["traceback"].is_array());
    EXPECT_EQ(d["current_inputs"]["model_input_size"], Json::array({512}));
    EXPECT_EQ(d["current_outputs"], Json::array({"1"}));
    EXPECT_TRUE(d.contains("timestamp"));
    const Json h = sim().history_item(id)[id];
    EXPECT_EQ(h["status"]["status_str"], "error");
    EXPECT_EQ(h["status"]["completed"], false);
    EXPECT_EQ(h["status"]["messages"].back()[0], "execution_error");
    EXPECT_EQ(h["outputs"], Json::object());
    EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "output" / "ddcolor"));
}

TEST(SimSeedTest, FailureRateIsSeededAndRoughlyHonoured) {
    auto run = [](std::uint64_t seed) {
        testing::TempDir tmp;
        Storage storage(tmp.path());
        testing::write_file(tmp.path() / "input" / "a.png", testing::gray_png(8, 8));
        testing::RecordingSink sink;
        core::ManualClock clock(0);
        SimOptions o;
        o.cost_base_seconds = 0;
        o.cost_per_megapixel_seconds = 0;
        o.cold_start_min_seconds = o.cold_start_max_seconds = 0;
        o.fail_rate = 0.5;
        o.seed = seed;
        o.cache = false;
        Sim sim(o, NodeTable::standard(), storage, sink, clock);
        std::string outcomes;
        for (int i = 0; i < 40; ++i) {
            const Reply r = sim.submit({{"prompt", ddcolor_graph("a.png")}});
            EXPECT_EQ(r.status, 200);
            sim.run_next();
            const std::string id = r.body["prompt_id"];
            outcomes += sim.history_item(id)[id]["status"]["completed"].get<bool>() ? 'S' : 'F';
        }
        return outcomes;
    };
    const std::string a = run(7);
    EXPECT_EQ(a, run(7));
    const auto failures = std::count(a.begin(), a.end(), 'F');
    EXPECT_GT(failures, 5);
    EXPECT_LT(failures, 35);
}

}  // namespace
}  // namespace tollgate::comfysim
