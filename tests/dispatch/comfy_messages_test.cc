#include "dispatch/comfy_messages.h"

#include <gtest/gtest.h>

#include "core/limits.h"
#include "dispatch/prompt_tracker.h"

namespace tollgate::dispatch {
namespace {

using Type = ComfyEvent::Type;
constexpr const char* kId = "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11";

ComfyEvent parse_ok(const std::string& text) {
    auto ev = parse_comfy_event(text);
    EXPECT_TRUE(ev.ok()) << text << " -> " << (ev.ok() ? "" : ev.error().message);
    return ev.ok() ? std::move(*ev) : ComfyEvent{};
}

std::string frame(const std::string& type, const std::string& data) {
    return R"({"type": ")" + type + R"(", "data": )" + data + "}";
}

TEST(ComfyEventTest, Status) {
    auto ev = parse_ok(
        frame("status", R"({"status": {"exec_info": {"queue_remaining": 1}}, "sid": "gw-1"})"));
    EXPECT_EQ(ev.type, Type::Status);
    EXPECT_EQ(ev.queue_remaining, 1);
    EXPECT_EQ(parse_ok(frame("status", "{}")).queue_remaining, -1);
}

TEST(ComfyEventTest, ExecutionStartAndCached) {
    auto ev =
        parse_ok(frame("execution_start", R"({"prompt_id": "p1", "timestamp": 1732780800130})"));
    EXPECT_EQ(ev.type, Type::ExecutionStart);
    EXPECT_EQ(ev.prompt_id, "p1");
    EXPECT_EQ(ev.timestamp_ms, 1732780800130);
    // Old servers sent no timestamp.
    EXPECT_EQ(parse_ok(frame("execution_start", R"({"prompt_id": "p1"})")).timestamp_ms, 0);

    ev = parse_ok(
        frame("execution_cached", R"({"nodes": ["1", "2"], "prompt_id": "p1", "timestamp": 5})"));
    EXPECT_EQ(ev.type, Type::ExecutionCached);
    EXPECT_EQ(ev.cached_nodes, (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(ev.timestamp_ms, 5);
}

TEST(ComfyEventTest, ExecutingWithNodeAndWithNull) {
    auto ev =
        parse_ok(frame("executing", R"({"node": "2", "display_node": "2", "prompt_id": "p1"})"));
    EXPECT_EQ(ev.type, Type::Executing);
    ASSERT_TRUE(ev.node.has_value());
    EXPECT_EQ(*ev.node, "2");
    EXPECT_EQ(ev.prompt_id, "p1");

    ev = parse_ok(frame("executing", R"({"node": null, "prompt_id": "p1"})"));
    EXPECT_EQ(ev.type, Type::Executing);
    EXPECT_FALSE(ev.node.has_value());
    EXPECT_EQ(ev.prompt_id, "p1");

    // Re-sent on reconnect without a prompt_id.
    ev = parse_ok(frame("executing", R"({"node": "2"})"));
    EXPECT_TRUE(ev.prompt_id.empty());
    EXPECT_EQ(*ev.node, "2");
}

TEST(ComfyEventTest, ProgressNewAndOld) {
    auto ev =
        parse_ok(frame("progress", R"({"value": 7, "max": 20, "prompt_id": "p1", "node": "5"})"));
    EXPECT_EQ(ev.type, Type::Progress);
    EXPECT_EQ(ev.progress_value, 7);
    EXPECT_EQ(ev.progress_max, 20);
    EXPECT_EQ(*ev.node, "5");
    ev = parse_ok(frame("progress", R"({"value": 1.5, "max": 3})"));
    EXPECT_EQ(ev.progress_value, 1);
    EXPECT_TRUE(ev.prompt_id.empty());
}

TEST(ComfyEventTest, Executed) {
    auto ev = parse_ok(frame(
        "executed",
        R"({"node": "3", "display_node": "3", "output": {"images": [{"filename": "person_00001_.png", "subfolder": "ddcolor", "type": "output"}]}, "prompt_id": "p1"})"));
    EXPECT_EQ(ev.type, Type::Executed);
    EXPECT_EQ(*ev.node, "3");
    EXPECT_EQ(ev.output["images"][0]["filename"], "person_00001_.png");
}

TEST(ComfyEventTest, ExecutionSuccess) {
    auto ev =
        parse_ok(frame("execution_success", R"({"prompt_id": "p1", "timestamp": 1732780803410})"));
    EXPECT_EQ(ev.type, Type::ExecutionSuccess);
    EXPECT_EQ(ev.timestamp_ms, 1732780803410);
}

TEST(ComfyEventTest, ExecutionErrorCombinesTypeAndTrimmedMessage) {
    auto ev = parse_ok(frame("execution_error", R"({
      "prompt_id": "p1", "node_id": "2", "node_type": "DDColor_Colorize", "executed": ["1"],
      "exception_message": "Checkpoint load failed.\n", "exception_type": "FileNotFoundError",
      "traceback": ["  File x\n"], "current_inputs": {"model_input_size": [512]},
      "current_outputs": ["1"], "timestamp": 1732780801999})"));
    EXPECT_EQ(ev.type, Type::ExecutionError);
    EXPECT_EQ(ev.error_message, "FileNotFoundError: Checkpoint load failed.");
    EXPECT_EQ(*ev.node, "2");
    EXPECT_EQ(ev.node_type, "DDColor_Colorize");
    EXPECT_EQ(ev.timestamp_ms, 1732780801999);
    // "Execution Blocked" variant: no timestamp.
    ev = parse_ok(frame("execution_error", R"({"prompt_id": "p1", "node_id": "2", "node_type": "X",
      "executed": [], "exception_message": "blocked", "exception_type": "ExecutionBlocked",
      "traceback": [], "current_inputs": [], "current_outputs": []})"));
    EXPECT_EQ(ev.error_message, "ExecutionBlocked: blocked");
    EXPECT_EQ(ev.timestamp_ms, 0);
}

TEST(ComfyEventTest, ExecutionErrorMessageIsBounded) {
    const std::string big(10'000, 'x');
    auto ev = parse_ok(frame(
        "execution_error",
        R"({"prompt_id": "p", "exception_type": "E", "exception_message": ")" + big + R"("})"));
    EXPECT_EQ(ev.error_message.size(), kComfyErrorMessageBytesMax);
}

TEST(ComfyEventTest, ExecutionInterrupted) {
    auto ev = parse_ok(frame(
        "execution_interrupted",
        R"({"prompt_id": "p1", "node_id": "3", "node_type": "SaveImage", "executed": ["1", "2"], "timestamp": 1732780802500})"));
    EXPECT_EQ(ev.type, Type::ExecutionInterrupted);
    EXPECT_EQ(ev.node_type, "SaveImage");
    EXPECT_EQ(ev.timestamp_ms, 1732780802500);
}

TEST(ComfyEventTest, UnknownTypesAreOther) {
    auto ev = parse_ok(frame("progress_state", R"({"prompt_id": "p1", "nodes": {}})"));
    EXPECT_EQ(ev.type, Type::Other);
    EXPECT_EQ(ev.type_name, "progress_state");
    EXPECT_EQ(ev.prompt_id, "p1");
    EXPECT_EQ(
        parse_ok(R"({"type": "feature_flags", "data": {"supports_preview_metadata": true}})").type,
        Type::Other);
    EXPECT_EQ(parse_ok(R"({"type": "custom", "data": 5})").type, Type::Other);
}

TEST(ComfyEventTest, GarbageAndWrongTypesAreErrors) {
    const std::vector<std::string> bad = {
        "",
        "not json",
        "[1,2]",
        "\"status\"",
        R"({"data": {}})",
        R"({"type": 5, "data": {}})",
        R"({"type": "status"})",
        R"({"type": "status", "data": []})",
        frame("status", R"({"status": 3})"),
        frame("status", R"({"status": {"exec_info": {"queue_remaining": "1"}}})"),
        frame("execution_start", "{}"),
        frame("execution_start", R"({"prompt_id": 12})"),
        frame("execution_start", R"({"prompt_id": "p", "timestamp": "now"})"),
        frame("execution_start", R"({"prompt_id": "p", "timestamp": 1.5})"),
        frame("execution_start", R"({"prompt_id": "p", "timestamp": 18446744073709551615})"),
        frame("execution_cached", R"({"prompt_id": "p", "nodes": [1]})"),
        frame("executing", R"({"prompt_id": "p"})"),
        frame("executing", R"({"node": 2, "prompt_id": "p"})"),
        frame("executing", R"({"node": null, "prompt_id": null})"),
        frame("progress", R"({"value": "7", "max": 20})"),
        frame("progress", R"({"value": 1e300, "max": 20})"),
        frame("executed", R"({"output": {}})"),
        frame("executed", R"({"node": "3", "output": []})"),
        frame("execution_success", R"({"prompt_id": ["p"]})"),
        frame("execution_error", R"({"prompt_id": "p", "exception_message": 5})"),
        frame("execution_interrupted", R"({"prompt_id": "p", "node_id": 3})"),
        std::string(200, '[') + std::string(200, ']'),
        R"({"type": "status", "data": {"x": )" + std::string(100, '[') + std::string(100, ']') +
            "}}",
    };
    for (const auto& text : bad) {
        auto ev = parse_comfy_event(text);
        EXPECT_FALSE(ev.ok()) << text;
        if (!ev.ok()) {
            EXPECT_EQ(ev.error().code, "comfy_message_invalid");
        }
    }
}

TEST(ComfyEventTest, OversizedFrameIsRejectedBeforeParsing) {
    std::string text = frame("status", "{}");
    text.append(static_cast<std::size_t>(core::limits::kComfyMessageBytesMax), ' ');
    auto ev = parse_comfy_event(text);
    ASSERT_FALSE(ev.ok());
    EXPECT_NE(ev.error().message.find("exceeds"), std::string::npos);
}

TEST(ComfyEventTest, InvalidUtf8DoesNotThrow) {
    const std::string text = "{\"type\": \"status\", \"data\": {\"sid\": \"\xff\xfe\"}}";
    EXPECT_NO_THROW({
        auto ev = parse_comfy_event(text);
        (void)ev;
    });
}

constexpr const char* kHistorySuccess = R"({
  "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11": {
    "prompt": [3, "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11", {"1": {}}, {"client_id": "gw"}, ["3"]],
    "outputs": {
      "3": {"images": [{"filename": "person_00001_.png", "subfolder": "ddcolor", "type": "output"}]},
      "10": {"images": [{"filename": "b.png", "subfolder": "", "type": "temp", "extra": 1}]},
      "4": {"text": ["no images here"]}
    },
    "status": {
      "status_str": "success", "completed": true,
      "messages": [
        ["execution_start", {"prompt_id": "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11", "timestamp": 1732780800130}],
        ["execution_cached", {"nodes": [], "prompt_id": "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11", "timestamp": 1732780800131}],
        ["execution_success", {"prompt_id": "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11", "timestamp": 1732780803410}]
      ]
    },
    "meta": {"3": {"node_id": "3"}}
  }
})";

TEST(HistoryTest, ParsesOutputsAndTimings) {
    auto entry = parse_history_entry(kHistorySuccess, kId);
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    ASSERT_TRUE(entry->has_value());
    const HistoryEntry& e = **entry;
    EXPECT_TRUE(e.has_status);
    EXPECT_EQ(e.status_str, "success");
    EXPECT_TRUE(e.completed);
    EXPECT_EQ(e.execution_start_ms, 1732780800130);
    EXPECT_EQ(e.execution_end_ms, 1732780803410);
    ASSERT_EQ(e.images.size(), 2u);
    EXPECT_EQ(e.images[0].node_id, "3");  // numeric order: 3 before 10
    EXPECT_EQ(e.images[0].filename, "person_00001_.png");
    EXPECT_EQ(e.images[0].subfolder, "ddcolor");
    EXPECT_EQ(e.images[0].type, "output");
    EXPECT_EQ(e.images[1].node_id, "10");

    auto images = parse_history_outputs(kHistorySuccess, kId);
    ASSERT_TRUE(images.ok()) << images.error().message;
    EXPECT_EQ(images->size(), 2u);
}

TEST(HistoryTest, EmptyObjectMeansNotThereYet) {
    auto entry = parse_history_entry("{}", kId);
    ASSERT_TRUE(entry.ok());
    EXPECT_FALSE(entry->has_value());
    auto images = parse_history_outputs("{}", kId);
    ASSERT_FALSE(images.ok());
    EXPECT_EQ(images.error().code, "history_not_found");
}

TEST(HistoryTest, OldServerWithoutStatus) {
    auto entry = parse_history_entry(
        R"({"p": {"prompt": [], "outputs": {"3": {"images": [{"filename": "a.png"}]}}}})", "p");
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    EXPECT_FALSE((*entry)->has_status);
    ASSERT_EQ((*entry)->images.size(), 1u);
    EXPECT_EQ((*entry)->images[0].subfolder, "");
    EXPECT_EQ((*entry)->images[0].type, "output");
}

TEST(HistoryTest, ErrorStatusIsDetected) {
    const char* text =
        R"({"p": {"outputs": {}, "status": {"status_str": "error", "completed": false, "messages": [
        ["execution_start", {"prompt_id": "p", "timestamp": 100}],
        ["execution_error", {"prompt_id": "p", "node_id": "2", "node_type": "DDColor_Colorize",
          "exception_type": "torch.OutOfMemoryError", "exception_message": "CUDA out of memory.\nTips...\n",
          "timestamp": 350}]]}}})";
    auto entry = parse_history_entry(text, "p");
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    EXPECT_EQ((*entry)->status_str, "error");
    EXPECT_EQ((*entry)->execution_end_ms, 350);
    auto images = parse_history_outputs(text, "p");
    ASSERT_FALSE(images.ok());
    EXPECT_EQ(images.error().code, "execution_error");
    EXPECT_EQ(images.error().message, "torch.OutOfMemoryError: CUDA out of memory.\nTips...");
}

TEST(HistoryTest, InterruptIsDetected) {
    const char* text =
        R"({"p": {"outputs": {}, "status": {"status_str": "error", "completed": false, "messages": [
        ["execution_interrupted", {"prompt_id": "p", "node_id": "3", "node_type": "SaveImage", "executed": [], "timestamp": 9}]]}}})";
    auto images = parse_history_outputs(text, "p");
    ASSERT_FALSE(images.ok());
    EXPECT_EQ(images.error().message, "execution_interrupted");
}

TEST(HistoryTest, WrongShapesAreErrors) {
    const std::vector<std::string> bad = {
        "",
        "[]",
        R"({"p": 5})",
        R"({"p": {"outputs": []}})",
        R"({"p": {"outputs": {"3": 1}}})",
        R"({"p": {"outputs": {"3": {"images": {}}}}})",
        R"({"p": {"outputs": {"3": {"images": [5]}}}})",
        R"({"p": {"outputs": {"3": {"images": [{"subfolder": ""}]}}}})",
        R"({"p": {"outputs": {"3": {"images": [{"filename": 1}]}}}})",
        R"({"p": {"status": "success"}})",
        R"({"p": {"status": {"status_str": 1}}})",
        R"({"p": {"status": {"completed": "yes"}}})",
        R"({"p": {"status": {"messages": {}}}})",
        R"({"p": {"status": {"messages": [["execution_start"]]}}})",
        R"({"p": {"status": {"messages": [["execution_start", {"prompt_id": "p", "timestamp": "x"}]]}}})",
    };
    for (const auto& text : bad) {
        auto entry = parse_history_entry(text, "p");
        EXPECT_FALSE(entry.ok()) << text;
        if (!entry.ok()) {
            EXPECT_EQ(entry.error().code, "comfy_history_invalid");
        }
    }
}

// A finished prompt whose outputs are `outputs` (the text of a JSON object).
std::string history_with_outputs(const std::string& outputs) {
    return R"({"p": {"outputs": )" + outputs +
           R"(, "status": {"status_str": "success", "completed": true}}})";
}

// The meter figures of a finished prompt with these outputs; the entry must parse.
MeterFigures meter_of(const std::string& outputs) {
    auto entry = parse_history_entry(history_with_outputs(outputs), "p");
    EXPECT_TRUE(entry.ok()) << outputs << " -> " << (entry.ok() ? "" : entry.error().message);
    if (!entry.ok() || !entry->has_value()) return MeterFigures{};
    return (*entry)->meter;
}

// One meter node "4" whose single reading is `reading`, next to a SaveImage "3".
std::string meter_outputs(const std::string& reading) {
    return R"({"3": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]},
               "4": {"tollgate_meter": [)" +
           reading + "]}}";
}

constexpr const char* kMeterReading =
    R"({"version": 1, "wall_ms": 3512, "wall_source": "execution_start",
        "gpu_peak_bytes": 1409286144, "device": "cuda:0"})";

TEST(HistoryMeterTest, ReadsTheMetersFigures) {
    auto entry = parse_history_entry(history_with_outputs(meter_outputs(kMeterReading)), "p");
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    EXPECT_EQ((*entry)->meter, (MeterFigures{3512, 1409286144}));
    // The image is found as before.
    ASSERT_EQ((*entry)->images.size(), 1u);
    EXPECT_EQ((*entry)->images[0].node_id, "3");
    // The bounds themselves are figures, and so is 0.
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": 604800000,
        "wall_source": "execution_start", "gpu_peak_bytes": 1125899906842624})")),
              (MeterFigures{kMeterWallMsMax, kMeterGpuPeakBytesMax}));
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": 0,
        "wall_source": "execution_start", "gpu_peak_bytes": 0, "device": "cuda:1"})")),
              (MeterFigures{0, 0}));
    // Unknown keys are ignored.
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": 5, "later": {"x": [1]},
        "wall_source": "execution_start", "gpu_peak_bytes": 6, "device": "cuda:0"})")),
              (MeterFigures{5, 6}));
}

TEST(HistoryMeterTest, NullFiguresAreNotMeasured) {
    // No CUDA: the GPU figures are null.
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": 812,
        "wall_source": "execution_start", "gpu_peak_bytes": null, "device": null})")),
              (MeterFigures{812, -1}));
    // The wall time failed or exceeded a week.
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": null, "wall_source": null,
        "gpu_peak_bytes": 77, "device": "cuda:0"})")),
              (MeterFigures{-1, 77}));
    // Every figure null, and every figure absent.
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": null, "wall_source": null,
        "gpu_peak_bytes": null, "device": null})")),
              MeterFigures{});
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1})")), MeterFigures{});
}

TEST(HistoryMeterTest, AWallTimeNotFromExecutionStartIsNotTaken) {
    // "since_previous" includes the worker's idle time: never billed.
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": 90000,
        "wall_source": "since_previous", "gpu_peak_bytes": 1024, "device": "cuda:0"})")),
              (MeterFigures{-1, 1024}));
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": 90000, "wall_source": null,
        "gpu_peak_bytes": 1024, "device": "cuda:0"})")),
              (MeterFigures{-1, 1024}));
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": 90000,
        "gpu_peak_bytes": 1024})")),
              (MeterFigures{-1, 1024}));
    EXPECT_EQ(meter_of(meter_outputs(R"({"version": 1, "wall_ms": 90000,
        "wall_source": "Execution_Start", "gpu_peak_bytes": 1024})")),
              (MeterFigures{-1, 1024}));
}

TEST(HistoryMeterTest, AMalformedReadingIsIgnoredWholeAndTheEntryStillParses) {
    const std::vector<std::string> malformed = {
        "5",
        R"("meter")",
        "null",
        "[]",
        // The version: missing, another, or not an integer.
        R"({"wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": 2})",
        R"({"version": 2, "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": 2})",
        R"({"version": 0, "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": 2})",
        R"({"version": "1", "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": 2})",
        R"({"version": 1.0, "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": 2})",
        R"({"version": true, "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": 2})",
        // A figure of the wrong type: a float, a string with a unit, a boolean, an object.
        R"({"version": 1, "wall_ms": 3512.5, "wall_source": "execution_start",)"
        R"( "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": 3512.0, "wall_source": "execution_start",)"
        R"( "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": "3512 ms", "wall_source": "execution_start",)"
        R"( "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": true, "wall_source": "execution_start", "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": 1e9})",
        R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start",)"
        R"( "gpu_peak_bytes": "1 GB"})",
        R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": {}})",
        // A text of the wrong type.
        R"({"version": 1, "wall_ms": 1, "wall_source": 1, "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": 1, "wall_source": ["execution_start"], "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": 2,
            "device": 0})",
    };
    for (const std::string& reading : malformed) {
        auto entry = parse_history_entry(history_with_outputs(meter_outputs(reading)), "p");
        ASSERT_TRUE(entry.ok()) << reading << " -> " << entry.error().message;
        EXPECT_EQ((*entry)->meter, MeterFigures{}) << reading;
        EXPECT_EQ((*entry)->images.size(), 1u) << reading;
        auto images = parse_history_outputs(history_with_outputs(meter_outputs(reading)), "p");
        EXPECT_TRUE(images.ok()) << reading;
    }
    // The meter's key holding something other than a list of readings.
    for (const char* node : {R"({"tollgate_meter": 5})", R"({"tollgate_meter": null})",
                             R"({"tollgate_meter": {"version": 1, "wall_ms": 1}})",
                             R"({"tollgate_meter": "wall_ms=1"})"}) {
        EXPECT_EQ(meter_of(std::string(R"({"4": )") + node + "}"), MeterFigures{}) << node;
    }
    // A bad reading next to a good one: the good one counts.
    EXPECT_EQ(meter_of(R"({"4": {"tollgate_meter": [{"version": 1, "wall_ms": "x"},
        {"version": 1, "wall_ms": 40, "wall_source": "execution_start", "gpu_peak_bytes": 50}]}})"),
              (MeterFigures{40, 50}));
}

TEST(HistoryMeterTest, AFigureOutOfBoundsMakesTheReadingMalformed) {
    const std::vector<std::string> out_of_bounds = {
        R"({"version": 1, "wall_ms": -1, "wall_source": "execution_start", "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": 604800001, "wall_source": "execution_start",
            "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": 18446744073709551615, "wall_source": "execution_start",
            "gpu_peak_bytes": 2})",
        R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start", "gpu_peak_bytes": -2})",
        R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start",
            "gpu_peak_bytes": 1125899906842625})",
        R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start",
            "gpu_peak_bytes": -9223372036854775808})",
        R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start",
            "gpu_peak_bytes": 99999999999999999999999})",
        // Out of bounds even though the wall time would not be taken.
        R"({"version": 1, "wall_ms": 604800001, "wall_source": "since_previous",
            "gpu_peak_bytes": 2})",
    };
    for (const std::string& reading : out_of_bounds) {
        EXPECT_EQ(meter_of(meter_outputs(reading)), MeterFigures{}) << reading;
    }
}

TEST(HistoryMeterTest, WithoutAMeterNothingIsMeasured) {
    EXPECT_EQ(meter_of(R"({"3": {"images": [{"filename": "a.png"}]}})"), MeterFigures{});
    EXPECT_EQ(meter_of("{}"), MeterFigures{});
    EXPECT_EQ(meter_of(R"({"4": {"text": ["tollgate_meter"]}})"), MeterFigures{});
    auto entry = parse_history_entry(kHistorySuccess, kId);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ((*entry)->meter, MeterFigures{});
    // An old server's entry without status, and one whose outputs are null.
    EXPECT_EQ(meter_of("null"), MeterFigures{});
}

TEST(HistoryMeterTest, SeveralReadingsGiveTheLargestOfEachFigure) {
    // Node "10" sorts after "9", but which meter ran last is not known from
    // the ids: the largest wall time is the last meter's, and each figure is
    // taken on its own.
    EXPECT_EQ(meter_of(R"({
        "9": {"tollgate_meter": [{"version": 1, "wall_ms": 5000, "wall_source": "execution_start",
                                  "gpu_peak_bytes": 100, "device": "cuda:0"}]},
        "10": {"tollgate_meter": [{"version": 1, "wall_ms": 1200,
                                   "wall_source": "execution_start", "gpu_peak_bytes": 900,
                                   "device": "cuda:0"}]},
        "11": {"tollgate_meter": [{"version": 1, "wall_ms": 99999, "wall_source": "since_previous",
                                   "gpu_peak_bytes": null, "device": null}]}})"),
              (MeterFigures{5000, 900}));
    // Two readings in one node's list count the same way.
    EXPECT_EQ(meter_of(R"({"4": {"tollgate_meter": [
        {"version": 1, "wall_ms": 7, "wall_source": "execution_start", "gpu_peak_bytes": 8},
        {"version": 1, "wall_ms": 3, "wall_source": "execution_start", "gpu_peak_bytes": 80}]}})"),
              (MeterFigures{7, 80}));
}

TEST(HistoryMeterTest, OnlySoManyReadingsAreLookedAt) {
    // kMeterReadingsMax readings of 1 ms, then one of 9 ms: never looked at.
    std::string readings;
    for (int i = 0; i < kMeterReadingsMax; ++i) {
        readings += R"({"version": 1, "wall_ms": 1, "wall_source": "execution_start"},)";
    }
    readings += R"({"version": 1, "wall_ms": 9, "wall_source": "execution_start"})";
    EXPECT_EQ(meter_of(R"({"4": {"tollgate_meter": [)" + readings + "]}}"), (MeterFigures{1, -1}));
    // Across nodes too, in node-id order.
    std::string nodes = "{";
    for (int i = 1; i <= kMeterReadingsMax + 1; ++i) {
        const int wall_ms = i <= kMeterReadingsMax ? 1 : 9;
        nodes += (i > 1 ? "," : "") + ("\"" + std::to_string(i) + "\"") +
                 R"(: {"tollgate_meter": [{"version": 1, "wall_ms": )" + std::to_string(wall_ms) +
                 R"(, "wall_source": "execution_start"}]})";
    }
    nodes += "}";
    EXPECT_EQ(meter_of(nodes), (MeterFigures{1, -1}));
}

TEST(QueuePromptResponseTest, Parses) {
    auto q = parse_queue_prompt_response(R"({"prompt_id": "abc", "number": 3, "node_errors": {}})");
    ASSERT_TRUE(q.ok()) << q.error().message;
    EXPECT_EQ(q->prompt_id, "abc");
    EXPECT_EQ(q->number, 3);
    EXPECT_TRUE(q->node_errors_summary.empty());
    q = parse_queue_prompt_response(R"({"prompt_id": "abc", "number": 3.5, "node_errors": []})");
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->number, 3.5);
    q = parse_queue_prompt_response(
        R"({"prompt_id": "abc", "number": 4, "node_errors": {"5": {"errors": [{"type": "x", "message": "Bad", "details": "d"}], "dependent_outputs": ["6"], "class_type": "SaveImage"}}})");
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->node_errors_summary, "node 5 (SaveImage): Bad [d]");
    for (const char* bad : {"", "{}", R"({"prompt_id": 5})", R"({"prompt_id": ""})",
                            R"({"prompt_id": "a", "number": "3"})"}) {
        EXPECT_FALSE(parse_queue_prompt_response(bad).ok()) << bad;
    }
}

TEST(PromptRejectionTest, SummarizesValidationFailure) {
    const char* body = R"({
      "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                "details": "Value smaller than min of 32: model_input_size", "extra_info": {}},
      "node_errors": {"2": {"errors": [{"type": "value_smaller_than_min", "message": "Value 8 smaller than min of 32",
                             "details": "model_input_size", "extra_info": {}}],
                            "dependent_outputs": ["3"], "class_type": "DDColor_Colorize"}}})";
    EXPECT_EQ(summarize_prompt_rejection(body),
              "Prompt outputs failed validation: Value smaller than min of 32: model_input_size "
              "(prompt_outputs_failed_validation); node 2 (DDColor_Colorize): Value 8 smaller than "
              "min of 32 [model_input_size]");
}

TEST(PromptRejectionTest, HandlesOldAndOddBodies) {
    EXPECT_EQ(summarize_prompt_rejection(R"({"error": "no prompt", "node_errors": []})"),
              "no prompt");
    const std::string missing = summarize_prompt_rejection(
        R"({"error": {"type": "missing_node_type", "message": "Node 'X' not found.", "details": "Node ID '#2'"}, "node_errors": {}})");
    EXPECT_NE(missing.find("missing_node_type"), std::string::npos);
    EXPECT_NE(missing.find("Node ID '#2'"), std::string::npos);
    EXPECT_FALSE(summarize_prompt_rejection("<html>").empty());
    EXPECT_FALSE(summarize_prompt_rejection("{}").empty());
    EXPECT_FALSE(summarize_prompt_rejection(R"({"error": 5, "node_errors": {"1": 2}})").empty());
}

TEST(UploadResponseTest, Parses) {
    auto up = parse_upload_response(
        R"({"name": "a (1).png", "subfolder": "tollgate/j", "type": "input", "asset": {}})");
    ASSERT_TRUE(up.ok());
    EXPECT_EQ(up->image_ref(), "tollgate/j/a (1).png");
    up = parse_upload_response(R"({"name": "a.png", "subfolder": "", "type": "input"})");
    ASSERT_TRUE(up.ok());
    EXPECT_EQ(up->image_ref(), "a.png");
    EXPECT_FALSE(parse_upload_response(R"({"subfolder": ""})").ok());
    EXPECT_FALSE(parse_upload_response(R"({"name": ""})").ok());
    EXPECT_FALSE(parse_upload_response(R"({"name": "a", "subfolder": 1})").ok());
}

TEST(QueueContainsTest, FindsRunningAndPending) {
    const char* q =
        R"({"queue_running": [[2, "run", {}, {}, ["3"]]], "queue_pending": [[3, "pend", {}, {}, ["3"]]]})";
    EXPECT_TRUE(*queue_contains(q, "run"));
    EXPECT_TRUE(*queue_contains(q, "pend"));
    EXPECT_FALSE(*queue_contains(q, "other"));
    EXPECT_FALSE(*queue_contains(R"({"queue_running": [], "queue_pending": []})", "x"));
    EXPECT_FALSE(queue_contains(R"({"queue_running": [[1]]})", "x").ok());
    EXPECT_FALSE(queue_contains(R"({"queue_pending": {}})", "x").ok());
    EXPECT_FALSE(queue_contains("nope", "x").ok());
}

TEST(QueueDepthTest, CountsOtherClientsPromptsOnly) {
    const char* q = R"({"queue_running": [[2, "a", {}, {"client_id": "tollgate-job1"}, []]],
        "queue_pending": [[3, "b", {}, {"client_id": "someone"}, []], [4, "c", {}, {}, []],
                          [5, "d"], [6, "e", {}, {"client_id": "tollgate-job2"}, []]]})";
    EXPECT_EQ(*queue_depth_of_others(q, "tollgate-"), 3);  // b, c (no client) and d (short item)
    EXPECT_EQ(*queue_depth_of_others(q, "nobody-"), 5);
    EXPECT_EQ(*queue_depth_of_others("{}", "tollgate-"), 0);
    EXPECT_FALSE(queue_depth_of_others(R"({"queue_running": [[1]]})", "t").ok());
    EXPECT_FALSE(queue_depth_of_others(R"({"queue_pending": 7})", "t").ok());
    EXPECT_FALSE(queue_depth_of_others("[]", "t").ok());
}

TEST(SystemStatsTest, SumsTheVramOfEveryDevice) {
    auto one = parse_system_stats(
        R"({"system": {"os": "linux"}, "devices": [{"name": "cuda:0", "vram_total": 85045379072,
            "vram_free": 83340591104, "torch_vram_total": 1, "torch_vram_free": 1}]})");
    ASSERT_TRUE(one.ok()) << one.error().message;
    EXPECT_EQ(one->vram_total_bytes, 85045379072);
    EXPECT_EQ(one->vram_free_bytes, 83340591104);
    auto two = parse_system_stats(
        R"({"devices": [{"vram_total": 100, "vram_free": 40}, {"vram_total": 50, "vram_free": 50}]})");
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(two->vram_total_bytes, 150);
    EXPECT_EQ(two->vram_free_bytes, 90);
    EXPECT_EQ(parse_system_stats(R"({"devices": []})")->vram_total_bytes, 0);  // CPU only
}

TEST(SystemStatsTest, RefusesWhatNoDeviceReports) {
    for (const char* bad : {
             "nope",
             "[]",
             R"({"system": {}})",
             R"({"devices": {}})",
             R"({"devices": [7]})",
             R"({"devices": [{"vram_total": 10}]})",
             R"({"devices": [{"vram_total": 10, "vram_free": 11}]})",
             R"({"devices": [{"vram_total": -1, "vram_free": 0}]})",
             R"({"devices": [{"vram_total": 1.5, "vram_free": 0}]})",
             R"({"devices": [{"vram_total": "10", "vram_free": "1"}]})",
             R"({"devices": [{"vram_total": 9007199254740993000, "vram_free": 0}]})",
         }) {
        auto parsed = parse_system_stats(bad);
        ASSERT_FALSE(parsed.ok()) << bad;
        EXPECT_EQ(parsed.error().code, "comfy_response_invalid") << bad;
    }
}

// PromptTracker

TEST(PromptTrackerTest, BuffersEventsUntilTheIdIsKnown) {
    PromptTracker t;
    t.on_event(parse_ok(frame("execution_start", R"({"prompt_id": "p1", "timestamp": 100})")));
    t.on_event(parse_ok(frame("execution_success", R"({"prompt_id": "p1", "timestamp": 350})")));
    t.on_event(parse_ok(frame("executing", R"({"node": null, "prompt_id": "p1"})")));
    EXPECT_FALSE(t.finished());
    t.set_prompt_id("p1");
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(t.state(), PromptTracker::State::Succeeded);
    EXPECT_EQ(t.execution_start_ms(), 100);
    EXPECT_EQ(t.execution_end_ms(), 350);
}

TEST(PromptTrackerTest, IgnoresOtherPrompts) {
    PromptTracker t;
    t.set_prompt_id("mine");
    t.on_event(parse_ok(frame("execution_start", R"({"prompt_id": "other", "timestamp": 1})")));
    t.on_event(parse_ok(
        frame("execution_error",
              R"({"prompt_id": "other", "exception_type": "E", "exception_message": "m"})")));
    t.on_event(parse_ok(frame("executing", R"({"node": null, "prompt_id": "other"})")));
    // A prompt_id-less "executing null" does not count before our prompt started.
    t.on_event(parse_ok(frame("executing", R"({"node": null})")));
    EXPECT_FALSE(t.finished());
    EXPECT_EQ(t.state(), PromptTracker::State::Waiting);
    t.on_event(parse_ok(frame("execution_start", R"({"prompt_id": "mine", "timestamp": 7})")));
    EXPECT_EQ(t.state(), PromptTracker::State::Running);
    t.on_event(parse_ok(frame("executing", R"({"node": null})")));
    EXPECT_TRUE(t.finished());
}

TEST(PromptTrackerTest, ErrorThenExecutingNull) {
    PromptTracker t;
    t.set_prompt_id("p");
    t.on_event(parse_ok(frame("execution_start", R"({"prompt_id": "p", "timestamp": 10})")));
    t.on_event(parse_ok(frame(
        "execution_error",
        R"({"prompt_id": "p", "exception_type": "FileNotFoundError", "exception_message": "Checkpoint load failed.\n", "timestamp": 40})")));
    EXPECT_EQ(t.state(), PromptTracker::State::Failed);
    EXPECT_FALSE(t.finished());
    t.on_event(parse_ok(frame("executing", R"({"node": null, "prompt_id": "p"})")));
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(t.error_message(), "FileNotFoundError: Checkpoint load failed.");
    EXPECT_EQ(t.execution_end_ms(), 40);
}

TEST(PromptTrackerTest, InterruptIsReported) {
    PromptTracker t;
    t.set_prompt_id("p");
    t.on_event(parse_ok(
        frame("execution_interrupted", R"({"prompt_id": "p", "node_id": "3", "timestamp": 40})")));
    EXPECT_EQ(t.state(), PromptTracker::State::Interrupted);
}

TEST(PromptTrackerTest, BufferIsBounded) {
    PromptTracker t;
    const ComfyEvent start =
        parse_ok(frame("execution_start", R"({"prompt_id": "p", "timestamp": 1})"));
    t.on_event(start);
    const ComfyEvent noise = parse_ok(frame("executing", R"({"node": "1", "prompt_id": "x"})"));
    for (std::size_t i = 0; i < PromptTracker::kBufferedEventsMax; ++i) t.on_event(noise);
    t.set_prompt_id("p");
    // The oldest event (our start) was dropped to keep the bound.
    EXPECT_EQ(t.state(), PromptTracker::State::Waiting);
}

}  // namespace
}  // namespace tollgate::dispatch
