// Helpers shared by the comfysim tests: a temporary folder, tiny grayscale
// PNGs, the DDColor graph, and an EventSink that records what it is sent.
#pragma once

#include <gtest/gtest.h>
#include <vips/vips.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "comfysim/image_ops.h"
#include "comfysim/sim_state.h"

namespace tollgate::comfysim::testing {

class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "comfysim-test-XXXXXX").string();
        if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// A width x height 8-bit grayscale PNG: a diagonal gradient offset by `seed`.
inline std::string gray_png(int width, int height, int seed = 0) {
    init_vips();
    VipsImage* xyz = nullptr;
    VipsImage* sum = nullptr;
    VipsImage* bytes = nullptr;
    void* buf = nullptr;
    size_t len = 0;
    std::string out;
    if (vips_xyz(&xyz, width, height, nullptr) == 0 && vips_bandmean(xyz, &sum, nullptr) == 0) {
        VipsImage* shifted = nullptr;
        if (vips_linear1(sum, &shifted, 3.0, static_cast<double>(seed), nullptr) == 0 &&
            vips_cast_uchar(shifted, &bytes, nullptr) == 0 &&
            vips_pngsave_buffer(bytes, &buf, &len, nullptr) == 0) {
            out.assign(static_cast<const char*>(buf), len);
        }
        if (shifted != nullptr) g_object_unref(shifted);
    }
    g_free(buf);
    for (VipsImage* img : {xyz, sum, bytes}) {
        if (img != nullptr) g_object_unref(img);
    }
    return out;
}

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::filesystem::create_directories(p.parent_path());
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (f == nullptr) return;
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
}

// The DDColor workflow from the shared examples.
inline Json ddcolor_graph(const std::string& image, int size = 512,
                          const std::string& checkpoint = "ddcolor_modelscope.pth",
                          const std::string& prefix = "ddcolor/person") {
    return Json::parse(R"json({
      "1": {"class_type": "LoadImage", "inputs": {"image": ""},
            "_meta": {"title": "Load Grayscale Image"}},
      "2": {"class_type": "DDColor_Colorize",
            "inputs": {"image": ["1", 0], "model_input_size": 512, "checkpoint": ""},
            "_meta": {"title": "DDColor Colorize (person)"}},
      "3": {"class_type": "SaveImage",
            "inputs": {"images": ["2", 0], "filename_prefix": ""},
            "_meta": {"title": "Save Colorized Image"}}
    })json")
        .patch(Json::array(
            {{{"op", "replace"}, {"path", "/1/inputs/image"}, {"value", image}},
             {{"op", "replace"}, {"path", "/2/inputs/model_input_size"}, {"value", size}},
             {{"op", "replace"}, {"path", "/2/inputs/checkpoint"}, {"value", checkpoint}},
             {{"op", "replace"}, {"path", "/3/inputs/filename_prefix"}, {"value", prefix}}}));
}

struct Event {
    std::string type;
    Json data;
    std::optional<std::string> sid;  // nullopt: broadcast
};

class RecordingSink final : public EventSink {
  public:
    void send(const std::string& type, const Json& data,
              const std::optional<std::string>& sid) override {
        std::lock_guard lock(mu_);
        events_.push_back({type, data, sid});
    }
    // Recorded as the pseudo-event "<closed>".
    void close_all() override {
        std::lock_guard lock(mu_);
        events_.push_back({"<closed>", Json::object(), std::nullopt});
    }
    std::vector<Event> take() {
        std::lock_guard lock(mu_);
        return std::exchange(events_, {});
    }

  private:
    std::mutex mu_;
    std::vector<Event> events_;
};

// "type" or "type:node" for executing/executed, for compact sequence checks.
// Queues `graph` on `sim`, runs it, and returns its history entry (an empty
// object, with a test failure, when the prompt was refused).
inline Json run_to_history(Sim& sim, const Json& graph) {
    const Reply r = sim.submit({{"prompt", graph}, {"client_id", "c1"}});
    EXPECT_EQ(r.status, 200) << r.body.dump();
    if (r.status != 200) return Json::object();
    EXPECT_TRUE(sim.run_next());
    const std::string id = r.body["prompt_id"];
    return sim.history_item(id)[id];
}

inline std::vector<std::string> names(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) {
        std::string n = e.type;
        if (e.type == "executing" || e.type == "executed") {
            n += ":" + (e.data["node"].is_null() ? std::string("null")
                                                 : e.data["node"].get<std::string>());
        }
        if (e.type == "status") {
            n += "(" + std::to_string(e.data["status"]["exec_info"]["queue_remaining"].get<int>()) +
                 ")";
        }
        out.push_back(n);
    }
    return out;
}

}  // namespace tollgate::comfysim::testing
