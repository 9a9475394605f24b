// Fuzz target: the ComfyUI facade's pricing of a client's prompt
// (src/http/api/facade/prompt_rules.h), from a whole /prompt body.
//
// The body is parsed as the facade parses it; its "prompt" goes through
// price_prompt() under a fixed book and rules. Checks: each failure has one
// of the documented codes; each success names a workflow of the rules (or the
// default), a quality level of that workflow (or none), the graph's LoadImage
// and SaveImage nodes, and a graph that still fills.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/assert.h"
#include "fuzz/fuzz_input.h"
#include "http/api/facade/prompt_rules.h"
#include "pricing/price_book.h"

namespace {

using namespace tollgate;

constexpr const char* kBook = R"(
version = "fuzz"
rounding = "floor"
time_zone = "UTC"
[workflows.person]
base = 10
per_megapixel = 2
minimum = 10
model_input_size_range = [460, 680]
default_quality = "standard"
[workflows.person.quality.draft]
model_input_size = 460
[workflows.person.quality.standard]
model_input_size = 512
[workflows.person.quality.high]
model_input_size = 680
[workflows.super_resolution]
base = 4
per_megapixel = 0
minimum = 5
upscale_factors = [2, 4]
)";

const pricing::PriceBook& book() {
    static const pricing::PriceBook b = [] {
        auto parsed = pricing::parse_price_book(kBook, "fuzz");
        TOLLGATE_ASSERT(parsed.ok());
        return std::move(parsed).value();
    }();
    return b;
}

http::facade::PromptRules rules(bool with_default) {
    http::facade::PromptRules r;
    r.rules.push_back({"DDColor_Colorize",
                       "person",
                       {{"checkpoint", "ddcolor_modelscope.pth"}},
                       "model_input_size",
                       ""});
    r.rules.push_back({"DDColor_Colorize", "person", {}, "model_input_size", ""});
    r.rules.push_back({"ImageScaleBy", "super_resolution", {}, "", "scale_by"});
    if (with_default) r.default_workflow = "person";
    return r;
}

void check(const nlohmann::json& graph, bool with_default) {
    const auto priced = http::facade::price_prompt(graph, rules(with_default), book());
    if (!priced.ok()) {
        TOLLGATE_ASSERT(priced.error().code == "invalid_prompt" ||
                        priced.error().code == "unpriced_graph");
        TOLLGATE_ASSERT(!with_default || priced.error().code == "invalid_prompt" ||
                        priced.error().message.find("beyond every quality level") !=
                            std::string::npos);
        return;
    }
    const auto price = book().workflows.find(priced->workflow);
    TOLLGATE_ASSERT(price != book().workflows.end());
    TOLLGATE_ASSERT(priced->quality.empty() || price->second.find_quality(priced->quality));
    TOLLGATE_ASSERT(!priced->image_ref.empty());
    TOLLGATE_ASSERT(priced->graph != nullptr);
    TOLLGATE_ASSERT(!priced->graph->save_image_node_ids().empty());
    TOLLGATE_ASSERT(graph.contains(priced->graph->load_image_node_id()));
    const nlohmann::json filled = priced->graph->fill("in.png", "out");
    TOLLGATE_ASSERT(filled.size() == graph.size());
    TOLLGATE_ASSERT(priced->matched == "default" ? with_default
                                                 : priced->matched.starts_with("rule "));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    if (text.size() > http::facade::kPromptBytesMax) return 0;
    const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
    if (!body.is_object() || !body.contains("prompt")) return 0;
    check(body["prompt"], false);
    check(body["prompt"], true);
    return 0;
}
