// The node table as data: the embedded nodes.json, node files that extend or
// override it, and the errors a bad node file gets.
#include "comfysim/node_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "comfysim/node_table.h"
#include "test_support.h"

namespace tollgate::comfysim {
namespace {

std::filesystem::path source_dir() {
    return std::filesystem::path(__FILE__).parent_path() / "../..";
}

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A minimal image_filter entry; `extra` is spliced into the object.
std::string filter_entry(const std::string& class_type, const std::string& extra = "") {
    return R"({"class_type": ")" + class_type + R"(", "behaviour": "image_filter",
      "effect": "grayscale", "input": {"required": {"image": ["IMAGE"]}},
      "output": ["IMAGE"])" +
           (extra.empty() ? "" : ", " + extra) + "}";
}

TEST(NodeFileTest, TheBinaryEmbedsTheCurrentNodesJson) {
    EXPECT_EQ(builtin_nodes_json(), read_text(source_dir() / "tools/comfysim/nodes.json"));
    auto specs = parse_node_file(builtin_nodes_json(), "nodes.json");
    ASSERT_TRUE(specs.ok()) << specs.error().message;
    EXPECT_EQ(specs->size(), NodeTable::standard().nodes().size());
}

TEST(NodeFileTest, BuiltInObjectInfoIsUnchangedFromTheCodedTable) {
    // Captured from the table as it was when each node was a C++ function.
    const Json golden =
        Json::parse(read_text(source_dir() / "tests/comfysim/object_info_builtin.json"));
    const Json now = NodeTable::standard().object_info_all({"a.png", "b/c.png"});
    for (const auto& [class_type, info] : golden.items()) {
        ASSERT_TRUE(now.contains(class_type)) << class_type;
        EXPECT_EQ(now[class_type].dump(), info.dump()) << class_type;
    }
    std::vector<std::string> order;
    for (const auto& n : NodeTable::standard().nodes()) order.push_back(n.class_type);
    EXPECT_EQ(order, (std::vector<std::string>{"LoadImage", "DDColor_Colorize", "SaveImage",
                                               "PreviewImage", "ImageScaleBy", "ImageDenoise",
                                               "ScratchRemoval", "OCRAnnotate", "TollgateMeter"}));
}

TEST(NodeFileTest, TollgateMeterIsAFreeOutputNodeLikeThePythonOne) {
    const NodeSpec* spec = NodeTable::standard().find("TollgateMeter");
    ASSERT_NE(spec, nullptr);
    EXPECT_EQ(spec->behaviour, Behaviour::Meter);
    EXPECT_EQ(spec->image_input, "image");
    EXPECT_FALSE(spec->is_gpu());
    // What ComfyUI's /object_info says of comfyui/tollgate_meter installed as
    // custom_nodes/tollgate_meter (its INPUT_TYPES, RETURN_TYPES, OUTPUT_NODE,
    // CATEGORY, DESCRIPTION and display name).
    Json expected = Json::parse(R"({
    "input": {"required": {"image": ["IMAGE"]}},
    "input_order": {"required": ["image"]},
    "is_input_list": false, "output": ["IMAGE"], "output_is_list": [false],
    "output_name": ["IMAGE"], "name": "TollgateMeter", "display_name": "Tollgate Meter",
    "description": "",
    "python_module": "custom_nodes.tollgate_meter", "category": "tollgate",
    "output_node": true, "has_intermediate_output": false, "search_aliases": []})");
    expected["description"] =
        "Passes the image through and reports the prompt's wall time and peak GPU memory so far, "
        "for Tollgate's usage records.";
    EXPECT_EQ(NodeTable::object_info(*spec, {}), expected);
}

TEST(NodeFileTest, ImageScaleByIsComfyUisCoreNode) {
    const NodeSpec* spec = NodeTable::standard().find("ImageScaleBy");
    ASSERT_NE(spec, nullptr);
    EXPECT_EQ(spec->behaviour, Behaviour::ImageScale);
    EXPECT_EQ(spec->scale_input, "scale_by");
    const Json expected = Json::parse(R"({
    "input": {"required": {
        "image": ["IMAGE"],
        "upscale_method": [["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]],
        "scale_by": ["FLOAT", {"default": 1.0, "min": 0.01, "max": 8.0, "step": 0.01}]}},
    "input_order": {"required": ["image", "upscale_method", "scale_by"]},
    "is_input_list": false, "output": ["IMAGE"], "output_is_list": [false],
    "output_name": ["IMAGE"], "name": "ImageScaleBy", "display_name": "Upscale Image By",
    "description": "", "python_module": "nodes", "category": "image/upscaling",
    "output_node": false, "has_intermediate_output": false, "search_aliases": []})");
    EXPECT_EQ(NodeTable::object_info(*spec, {}), expected);
}

TEST(NodeFileTest, CapabilityNodesAreCustomNodesWithEffects) {
    const NodeTable& t = NodeTable::standard();
    struct Want {
        const char* class_type;
        Effect effect;
    };
    for (const Want& w :
         {Want{"ImageDenoise", Effect::Denoise}, Want{"ScratchRemoval", Effect::Despeckle},
          Want{"OCRAnnotate", Effect::Annotate}}) {
        const NodeSpec* spec = t.find(w.class_type);
        ASSERT_NE(spec, nullptr) << w.class_type;
        EXPECT_EQ(spec->behaviour, Behaviour::ImageFilter);
        EXPECT_EQ(spec->effect, w.effect) << w.class_type;
        EXPECT_EQ(spec->python_module.rfind("custom_nodes.", 0), 0u) << w.class_type;
        EXPECT_GT(spec->cost, 0.0);
    }
    EXPECT_EQ(t.find("OCRAnnotate")->output_types, (std::vector<std::string>{"IMAGE", "STRING"}));
    EXPECT_EQ(t.find("DDColor_Colorize")->effect, Effect::Colorize);
    EXPECT_EQ(t.find("DDColor_Colorize")->cost, 1.0);
    EXPECT_EQ(t.find("SaveImage")->image_input, "images");
    EXPECT_EQ(t.find("SaveImage")->cost, 0.0);
}

TEST(NodeFileTest, ExtendedReplacesInPlaceAndAppendsNewClasses) {
    const std::string text = "[" +
                             filter_entry("DDColor_Colorize", R"("display_name": "Colour it")") +
                             "," + filter_entry("Monochrome") + "]";
    auto extra = parse_node_file(text, "extra.json");
    ASSERT_TRUE(extra.ok()) << extra.error().message;
    auto table = NodeTable::standard().extended(std::move(extra).value());
    ASSERT_TRUE(table.ok()) << table.error().message;
    const auto& nodes = table->nodes();
    ASSERT_EQ(nodes.size(), NodeTable::standard().nodes().size() + 1);
    EXPECT_EQ(nodes[1].class_type, "DDColor_Colorize");
    EXPECT_EQ(nodes[1].display_name, "Colour it");
    EXPECT_EQ(nodes[1].effect, Effect::Grayscale);
    EXPECT_EQ(nodes.back().class_type, "Monochrome");
    EXPECT_EQ(nodes.back().display_name, "Monochrome");  // defaults to the class_type
    EXPECT_EQ(nodes.back().cost, 1.0);
    EXPECT_EQ(NodeTable::standard().find("DDColor_Colorize")->display_name, "DDColor_Colorize");
}

TEST(NodeFileTest, LoadAppliesFilesInOrder) {
    testing::TempDir tmp;
    testing::write_file(tmp.path() / "a.json", "[" + filter_entry("Monochrome") + "]");
    testing::write_file(tmp.path() / "b.json",
                        "[" + filter_entry("Monochrome", R"("category": "b")") + "]");
    auto table = NodeTable::load({tmp.path() / "a.json", tmp.path() / "b.json"});
    ASSERT_TRUE(table.ok()) << table.error().message;
    ASSERT_NE(table->find("Monochrome"), nullptr);
    EXPECT_EQ(table->find("Monochrome")->category, "b");
    EXPECT_NE(table->find("LoadImage"), nullptr);

    auto none = NodeTable::load({});
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->nodes().size(), NodeTable::standard().nodes().size());

    auto missing = NodeTable::load({tmp.path() / "a.json", tmp.path() / "nope.json"});
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "invalid_node_file");
    EXPECT_NE(missing.error().message.find("nope.json"), std::string::npos);
    EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
}

TEST(NodeFileTest, ACapturedObjectInfoEntryPastesIn) {
    // The shared DDColor capture, plus the three fields comfysim needs.
    const std::string text = R"([{
      "class_type": "DDColor_Colorize", "behaviour": "image_filter", "effect": "colorize",
      "_comment": "pasted from /object_info",
      "input": {"required": {
        "image": ["IMAGE"],
        "model_input_size": ["INT", {"default": 512, "min": 32, "max": 4096, "step": 32}],
        "checkpoint": [["ddcolor_paper_tiny.pth", "ddcolor_paper.pth", "ddcolor_modelscope.pth",
                        "ddcolor_artistic.pth"], {"default": "ddcolor_paper_tiny.pth"}]}},
      "input_order": {"required": ["image", "model_input_size", "checkpoint"]},
      "is_input_list": false, "output": ["IMAGE"], "output_is_list": [false],
      "output_name": ["colorized_image"], "name": "DDColor_Colorize",
      "display_name": "DDColor_Colorize", "description": "",
      "python_module": "custom_nodes.ComfyUI-DDColor", "category": "DDColor",
      "output_node": false, "has_intermediate_output": false, "search_aliases": []}])";
    auto specs = parse_node_file(text, "capture.json");
    ASSERT_TRUE(specs.ok()) << specs.error().message;
    const NodeSpec* builtin = NodeTable::standard().find("DDColor_Colorize");
    EXPECT_EQ(NodeTable::object_info(specs->front(), {}), NodeTable::object_info(*builtin, {}));
}

void expect_rejected(const std::string& text, const std::string& needle) {
    auto specs = parse_node_file(text, "bad_nodes.json");
    ASSERT_FALSE(specs.ok()) << text;
    EXPECT_EQ(specs.error().code, "invalid_node_file");
    EXPECT_NE(specs.error().message.find("bad_nodes.json"), std::string::npos)
        << specs.error().message;
    EXPECT_NE(specs.error().message.find(needle), std::string::npos)
        << "wanted: " << needle << "\ngot: " << specs.error().message;
}

TEST(NodeFileTest, RejectsMalformedFiles) {
    expect_rejected("", "not valid JSON");
    expect_rejected("[{]", "not valid JSON");
    expect_rejected("{}", "top level must be an array");
    expect_rejected(std::string(40, '[') + std::string(40, ']'), "nested deeper than 16");
    expect_rejected("[\"" + std::string(kNodeFileBytesMax, 'x') + "\"]", "larger than");
    std::string many = "[";
    for (std::size_t i = 0; i <= kNodeTableEntriesMax; ++i) {
        many += (i ? "," : "") + filter_entry("N" + std::to_string(i));
    }
    expect_rejected(many + "]", "more than 256 entries");
}

TEST(NodeFileTest, RejectsBadEntriesNamingTheEntry) {
    const std::string ok = filter_entry("Good");
    auto one = [&](const std::string& entry) { return "[" + ok + "," + entry + "]"; };
    expect_rejected(one("7"), "entry 2: an entry must be a JSON object");
    expect_rejected(one(R"({"behaviour": "image_filter"})"), "entry 2: missing \"class_type\"");
    expect_rejected(one(R"({"class_type": ""})"), "\"class_type\" is empty");
    expect_rejected(one(R"({"class_type": "a\u0001b"})"), "control characters");
    expect_rejected(one(R"({"class_type": ")" + std::string(200, 'c') + R"("})"),
                    "longer than 128 bytes");
    expect_rejected(one(R"({"class_type": "X", "input": {}})"),
                    "entry 2 (\"X\"): missing \"behaviour\"");
    expect_rejected(one(R"({"class_type": "X", "behaviour": "blur", "input": {}})"),
                    "entry 2 (\"X\"): unknown behaviour \"blur\"");
    expect_rejected(one(filter_entry("X", R"("efect": "denoise")")), "unknown field \"efect\"");
    expect_rejected(one(R"({"class_type": "X", "behaviour": "image_filter",
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE"]})"),
                    "image_filter needs an \"effect\"");
    expect_rejected(one(filter_entry("X", R"("scale": 2)")), "applies only to image_scale");
    expect_rejected(one(R"({"class_type": "X", "behaviour": "image_filter", "effect": "blur",
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE"]})"),
                    "unknown effect \"blur\"");
    expect_rejected(one(filter_entry("Good")), "entry 2 (\"Good\"): class_type repeats entry 1");
    expect_rejected(one(filter_entry("X", R"("cost": -1)")), "\"cost\" must be in [0.0, 1000.0]");
    expect_rejected(one(filter_entry("X", R"("cost": "high")")), "\"cost\" must be a number");
    expect_rejected(one(filter_entry("X", R"("output_node": 1)")), "\"output_node\" must be");
    expect_rejected(one(filter_entry("X", R"("description": 5)")),
                    "\"description\" must be a string");
}

TEST(NodeFileTest, RejectsBadInputs) {
    auto with_inputs = [](const std::string& input) {
        return R"([{"class_type": "X", "behaviour": "image_filter", "effect": "identity",
          "input": )" +
               input + R"(, "output": ["IMAGE"]}])";
    };
    expect_rejected(with_inputs("[]"), "\"input\" must be an object");
    expect_rejected(with_inputs(R"({"requried": {}})"),
                    "input section \"requried\" is not required, optional or hidden");
    expect_rejected(with_inputs(R"({"required": []})"),
                    "input section \"required\" must be an object");
    expect_rejected(with_inputs(R"({"required": {"image": "IMAGE"}})"),
                    "input \"image\" must be [type] or [type, options]");
    expect_rejected(with_inputs(R"({"required": {"image": ["IMAGE", {}, 3]}})"),
                    "must be [type] or [type, options]");
    expect_rejected(with_inputs(R"({"required": {"image": [7]}})"),
                    "type must be a type name or a list of choices");
    expect_rejected(with_inputs(R"({"required": {"image": ["IMAGE"], "m": [[{"a": 1}]]}})"),
                    "choices must be strings, numbers or booleans");
    expect_rejected(with_inputs(R"({"required": {"image": ["IMAGE"], "n": ["INT", 5]}})"),
                    "input \"n\" options must be an object");
    expect_rejected(
        with_inputs(R"({"required": {"image": ["IMAGE"], "n": ["INT", {"min": "0"}]}})"),
        "input \"n\" option \"min\" must be a number");
    expect_rejected(
        with_inputs(R"({"required": {"image": ["IMAGE"], "n": ["INT", {"min": 9, "max": 1}]}})"),
        "input \"n\" has max < min");
    expect_rejected(
        with_inputs(R"({"required": {"image": ["IMAGE"]}, "optional": {"image": ["IMAGE"]}})"),
        "input \"image\" appears twice");
    expect_rejected(with_inputs(R"({"required": {"image": ["IMAGE"]}, "hidden": {"p": 1}})"),
                    "hidden input \"p\" must be a string");
    std::string many = R"({"required": {"image": ["IMAGE"])";
    for (std::size_t i = 0; i < kNodeInputsMax; ++i)
        many += ",\"i" + std::to_string(i) + "\": [\"INT\"]";
    expect_rejected(with_inputs(many + "}}"), "more than 64 inputs");
    std::string choices = "[";
    for (std::size_t i = 0; i <= kNodeChoicesMax; ++i)
        choices += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
    expect_rejected(with_inputs(R"({"required": {"image": ["IMAGE"], "c": [)" + choices + "]]}}"),
                    "more than 4096 choices");
}

TEST(NodeFileTest, RejectsEntriesThatDoNotFitTheirBehaviour) {
    auto entry = [](const std::string& body) { return "[{\"class_type\": \"X\", " + body + "}]"; };
    expect_rejected(entry(R"("behaviour": "image_filter", "effect": "identity",
        "input": {"required": {"text": ["STRING"]}}, "output": ["IMAGE"])"),
                    "needs a required IMAGE input");
    expect_rejected(entry(R"("behaviour": "image_filter", "effect": "identity",
        "input": {"optional": {"image": ["IMAGE"]}}, "output": ["IMAGE"])"),
                    "needs a required IMAGE input");
    expect_rejected(entry(R"("behaviour": "image_filter", "effect": "identity",
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["STRING"])"),
                    "needs an IMAGE output");
    expect_rejected(entry(R"("behaviour": "image_filter", "effect": "identity",
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE", "LATENT"])"),
                    "output type \"LATENT\" is not supported");
    expect_rejected(entry(R"("behaviour": "image_filter", "effect": "identity",
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE"],
        "output_name": ["a", "b"])"),
                    "\"output_name\" and \"output\" differ in length");
    expect_rejected(entry(R"("behaviour": "image_filter", "effect": "identity",
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE"], "output_node": true)"),
                    "cannot be output nodes");
    const std::string scale_inputs =
        R"("input": {"required": {"image": ["IMAGE"], "s": ["FLOAT"], "t": ["STRING"],
           "m": [["a", "b"]]}}, "output": ["IMAGE"])";
    expect_rejected(entry(R"("behaviour": "image_scale", )" + scale_inputs),
                    "exactly one of \"scale_input\" and \"scale\"");
    expect_rejected(
        entry(R"("behaviour": "image_scale", "scale": 2, "scale_input": "s", )" + scale_inputs),
        "exactly one of");
    expect_rejected(entry(R"("behaviour": "image_scale", "scale_input": "t", )" + scale_inputs),
                    "\"scale_input\" \"t\" must name an INT or FLOAT input");
    expect_rejected(entry(R"("behaviour": "image_scale", "scale": 0, )" + scale_inputs),
                    "\"scale\" must be positive");
    expect_rejected(entry(R"("behaviour": "image_scale", "scale": 99, )" + scale_inputs),
                    "\"scale\" must be in");
    expect_rejected(
        entry(R"("behaviour": "image_scale", "scale": 2, "method_input": "s", )" + scale_inputs),
        "\"method_input\" \"s\" must name a choice-list input");
    expect_rejected(entry(R"("behaviour": "save_image", "output_node": true,
        "input": {"required": {"images": ["IMAGE"]}})"),
                    "needs a required STRING input \"filename_prefix\"");
    expect_rejected(entry(R"("behaviour": "save_image", "output_node": true,
        "input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING"]}},
        "output": ["IMAGE"])"),
                    "have no outputs");
    expect_rejected(entry(R"("behaviour": "preview_image",
        "input": {"required": {"images": ["IMAGE"]}})"),
                    "must be output nodes");
    expect_rejected(entry(R"("behaviour": "preview_image", "output_node": true, "cost": 1,
        "input": {"required": {"images": ["IMAGE"]}})"),
                    "\"cost\" applies only to image_filter and image_scale");
    expect_rejected(entry(R"("behaviour": "load_image",
        "input": {"required": {"image": ["STRING"]}}, "output": ["IMAGE"])"),
                    "needs a required choice-list input \"image\"");
    expect_rejected(entry(R"("behaviour": "load_image",
        "input": {"required": {"image": [[]]}}, "output": ["MASK"])"),
                    "first output must be IMAGE");
    expect_rejected(entry(R"("behaviour": "meter", "output_node": true,
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE", "STRING"])"),
                    "a meter has exactly one output, IMAGE");
    expect_rejected(entry(R"("behaviour": "meter",
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE"])"),
                    "a meter must be an output node");
    expect_rejected(entry(R"("behaviour": "meter", "output_node": true, "cost": 1,
        "input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE"])"),
                    "\"cost\" applies only to image_filter and image_scale");
}

TEST(NodeFileTest, ReadRejectsAnOversizedFile) {
    testing::TempDir tmp;
    testing::write_file(tmp.path() / "big.json", std::string(kNodeFileBytesMax + 1, ' '));
    auto specs = read_node_file(tmp.path() / "big.json");
    ASSERT_FALSE(specs.ok());
    EXPECT_NE(specs.error().message.find("big.json"), std::string::npos);
    EXPECT_NE(specs.error().message.find("larger than"), std::string::npos);
}

TEST(NodeFileTest, TheTableHasABound) {
    std::vector<NodeSpec> extra;
    for (std::size_t i = 0; i < kNodeTableEntriesMax; ++i) {
        NodeSpec s = *NodeTable::standard().find("ImageDenoise");
        s.class_type = "N" + std::to_string(i);
        extra.push_back(std::move(s));
    }
    auto table = NodeTable::standard().extended(std::move(extra));
    ASSERT_FALSE(table.ok());
    EXPECT_EQ(table.error().code, "invalid_node_file");
}

TEST(NodeFileTest, ReadsEachNodesCostModel) {
    const std::string text = "[" + filter_entry("Fixed", R"("seconds": 1.5, "seconds_per_mp": 0.25,
        "vram_mib": 100, "vram_mib_per_mp": 10, "model": "fixed.pth")") +
                             "," +
                             R"({"class_type": "Tiled", "behaviour": "image_filter",
        "effect": "denoise", "cost": 2, "model_input": "net", "tile_input": "tile",
        "input": {"required": {"image": ["IMAGE"], "net": [["a.pth", "b.pth"]],
                               "tile": ["INT", {"default": 256}]}},
        "output": ["IMAGE"]})" +
                             "]";
    auto specs = parse_node_file(text, "costs.json");
    ASSERT_TRUE(specs.ok()) << specs.error().message;
    const NodeSpec& fixed = (*specs)[0];
    EXPECT_TRUE(fixed.fixed_seconds);
    EXPECT_EQ(fixed.seconds, 1.5);
    EXPECT_EQ(fixed.seconds_per_megapixel, 0.25);
    EXPECT_EQ(fixed.vram_bytes, 100 * 1024 * 1024);
    EXPECT_EQ(fixed.vram_bytes_per_megapixel, 10 * 1024 * 1024);
    EXPECT_EQ(fixed.model, "fixed.pth");
    EXPECT_TRUE(fixed.is_gpu());
    const NodeSpec& tiled = (*specs)[1];
    EXPECT_FALSE(tiled.fixed_seconds);
    EXPECT_EQ(tiled.cost, 2.0);
    EXPECT_EQ(tiled.model_input, "net");
    EXPECT_EQ(tiled.tile_input, "tile");
    EXPECT_EQ(tiled.vram_bytes, 0);
}

TEST(NodeFileTest, BuiltInGpuNodesLoadModelsAndDenoiseTiles) {
    const NodeTable& t = NodeTable::standard();
    EXPECT_EQ(t.find("DDColor_Colorize")->model_input, "checkpoint");
    EXPECT_GT(t.find("DDColor_Colorize")->vram_bytes, 0);
    EXPECT_EQ(t.find("ImageDenoise")->model_input, "model");
    EXPECT_EQ(t.find("ImageDenoise")->tile_input, "tile_size");
    EXPECT_FALSE(t.find("ScratchRemoval")->model.empty());
    EXPECT_TRUE(t.find("ImageScaleBy")->model.empty());
    EXPECT_FALSE(t.find("SaveImage")->is_gpu());
}

TEST(NodeFileTest, RejectsBadCostModels) {
    const std::string ok = filter_entry("Good");
    auto one = [&](const std::string& entry) { return "[" + ok + "," + entry + "]"; };
    expect_rejected(one(filter_entry("X", R"("cost": 1, "seconds": 2)")),
                    "\"cost\" and \"seconds\"/\"seconds_per_mp\" exclude each other");
    expect_rejected(one(filter_entry("X", R"("seconds": 4000)")),
                    "\"seconds\" must be in [0.0, 3600.0]");
    expect_rejected(one(filter_entry("X", R"("vram_mib": -1)")), "\"vram_mib\" must be in");
    expect_rejected(one(filter_entry("X", R"("model": "a", "model_input": "image")")),
                    "\"model_input\" and \"model\" exclude each other");
    expect_rejected(one(filter_entry("X", R"("model_input": "image")")),
                    "\"model_input\" \"image\" must name a choice-list or STRING input");
    expect_rejected(one(filter_entry("X", R"("tile_input": "nope")")),
                    "\"tile_input\" \"nope\" must name an INT input");
    expect_rejected(one(R"({"class_type": "X", "behaviour": "preview_image", "output_node": true,
        "vram_mib": 5, "input": {"required": {"images": ["IMAGE"]}}})"),
                    "\"vram_mib\" applies only to image_filter and image_scale");
}

}  // namespace
}  // namespace tollgate::comfysim
