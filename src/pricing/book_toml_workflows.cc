// Reads [workflows.*] and [tenants.*]: the prices of each capability and the
// enterprise terms layered on them.
//
// Tenant overrides are merged here, at load: every tenant gets a full copy of
// every workflow with its overrides applied, so quote() finds a tenant's
// price with one map look-up and no merging on the hot path. The copies cost
// memory proportional to tenants x workflows, both bounded (kTenantsMax,
// kWorkflowsMax). Quality levels are kept sorted by model input size so
// messages list them from smallest to largest.
#include <algorithm>
#include <string>

#include "pricing/book_toml_read.h"
#include "pricing/decimal.h"

namespace tollgate::pricing {
namespace {

constexpr int kMicroPlaces = 6;
constexpr int kMilliPlaces = 3;
constexpr std::int64_t kMicro = core::kMicroTokensPerToken;

core::Result<std::vector<std::int64_t>> read_upscale_factors(const BookSource& source,
                                                             const toml::node& node,
                                                             const std::string& path) {
    const std::uint32_t line = line_of(node, 0);
    const auto* array = node.as_array();
    if (array == nullptr || array->empty() || array->size() > kUpscaleFactorsMax) {
        return book_error(
            source, line,
            path + " must be an array of 1 to " + std::to_string(kUpscaleFactorsMax) + " factors");
    }
    std::vector<std::int64_t> factors;
    for (const toml::node& element : *array) {
        auto factor = read_decimal(source, element, path, kMilliPlaces, 8000, "x");
        if (!factor) return factor.error();
        if (*factor < 1000) {
            return book_error(source, line_of(element, line), path + " factors must be at least 1");
        }
        if (std::find(factors.begin(), factors.end(), *factor) != factors.end()) {
            return book_error(source, line_of(element, line),
                              path + " lists " + format_decimal(*factor, kMilliPlaces) + " twice");
        }
        factors.push_back(*factor);
    }
    std::sort(factors.begin(), factors.end());
    return factors;
}

core::Status read_input_size_range(const BookSource& source, const toml::node& node,
                                   const std::string& path, WorkflowPrice& price) {
    const auto* array = node.as_array();
    const toml::node* low = array != nullptr && array->size() == 2 ? array->get(0) : nullptr;
    const toml::node* high = array != nullptr && array->size() == 2 ? array->get(1) : nullptr;
    const auto* low_int = low != nullptr ? low->as_integer() : nullptr;
    const auto* high_int = high != nullptr ? high->as_integer() : nullptr;
    if (low_int == nullptr || high_int == nullptr || low_int->get() < 1 ||
        low_int->get() > high_int->get() || high_int->get() > kModelInputSizeMax) {
        return book_error(source, line_of(node, 0),
                          path + " must be [min, max] with 1 <= min <= max <= " +
                              std::to_string(kModelInputSizeMax));
    }
    price.model_input_size_min = low_int->get();
    price.model_input_size_max = high_int->get();
    return {};
}

core::Status read_quality_level(const BookSource& source, const std::string& path,
                                const toml::table& table, std::uint32_t line, WorkflowPrice& price,
                                QualityLevel& level) {
    if (auto status = check_keys(source, table, {"model_input_size", "surcharge"}, path, line);
        !status) {
        return status;
    }
    const toml::node* size = table.get("model_input_size");
    if (size == nullptr) return book_error(source, line, path + ".model_input_size is missing");
    auto value = read_integer(source, *size, path + ".model_input_size", 1, kModelInputSizeMax);
    if (!value) return value.error();
    if (price.model_input_size_min > 0 &&
        (*value < price.model_input_size_min || *value > price.model_input_size_max)) {
        return book_error(source, line_of(*size, line),
                          path + ".model_input_size " + std::to_string(*value) +
                              " is outside model_input_size_range [" +
                              std::to_string(price.model_input_size_min) + ", " +
                              std::to_string(price.model_input_size_max) + "]");
    }
    level.model_input_size = *value;
    if (const toml::node* surcharge = table.get("surcharge")) {
        auto micro = read_decimal(source, *surcharge, path + ".surcharge", kMicroPlaces,
                                  kQualitySurchargeTokensMax * kMicro, "tokens");
        if (!micro) return micro.error();
        level.surcharge_micro = *micro;
    }
    return {};
}

core::Status read_quality_levels(const BookSource& source, const toml::node& node,
                                 const std::string& path, std::uint32_t fallback,
                                 WorkflowPrice& price) {
    auto table = read_table(source, node, path, fallback);
    if (!table) return table.error();
    const std::uint32_t line = line_of(node, fallback);
    if ((*table)->empty() || (*table)->size() > kQualityLevelsMax) {
        return book_error(
            source, line,
            path + " must define 1 to " + std::to_string(kQualityLevelsMax) + " levels");
    }
    for (auto&& [key, entry] : **table) {
        const std::string level_path = child_path(path, key.str());
        const std::uint32_t level_line = line_of(entry, line);
        if (!valid_lower_name(key.str())) {
            return book_error(source, level_line,
                              level_path + ": level names are 1-64 of [a-z0-9_]");
        }
        auto level_table = read_table(source, entry, level_path, level_line);
        if (!level_table) return level_table.error();
        QualityLevel level;
        level.name = std::string(key.str());
        auto status =
            read_quality_level(source, level_path, **level_table, level_line, price, level);
        if (!status) return status;
        price.qualities.push_back(std::move(level));
    }
    std::sort(price.qualities.begin(), price.qualities.end(),
              [](const QualityLevel& a, const QualityLevel& b) {
                  return a.model_input_size != b.model_input_size
                             ? a.model_input_size < b.model_input_size
                             : a.name < b.name;
              });
    return {};
}

core::Status read_default_quality(const BookSource& source, const toml::table& table,
                                  const std::string& path, std::uint32_t line,
                                  WorkflowPrice& price) {
    const toml::node* node = table.get("default_quality");
    if (node == nullptr) {
        if (price.qualities.empty()) return {};
        return book_error(source, line,
                          path + ".default_quality is missing (required with quality levels)");
    }
    auto name = read_string(source, *node, path + ".default_quality");
    if (!name) return name.error();
    for (std::size_t i = 0; i < price.qualities.size(); ++i) {
        if (price.qualities[i].name == *name) {
            price.default_quality = i;
            return {};
        }
    }
    std::string what = path + ".default_quality \"" + std::string(*name) + "\" is not a level";
    if (price.qualities.empty()) what += " (the workflow has no quality levels)";
    return book_error(source, line_of(*node, line), what);
}

core::Status read_tiling(const BookSource& source, const toml::table& table,
                         const std::string& path, WorkflowPrice& price) {
    if (const toml::node* node = table.get("tile_side_px")) {
        const auto* integer = node->as_integer();
        const bool ok = integer != nullptr &&
                        (integer->get() == 0 || (integer->get() >= kTileSidePxMin &&
                                                 integer->get() <= core::limits::kImageSideMax));
        if (!ok) {
            return book_error(source, line_of(*node, 0),
                              path + ".tile_side_px must be 0 or an integer between " +
                                  std::to_string(kTileSidePxMin) + " and " +
                                  std::to_string(core::limits::kImageSideMax));
        }
        price.tile_side_px = integer->get();
    }
    return {};
}

// A price that charges per tile must say when an image is tiled.
core::Status check_per_tile(const BookSource& source, const toml::table& table,
                            const std::string& path, std::uint32_t line,
                            const WorkflowPrice& price) {
    if (price.per_tile_micro == 0 || price.tile_side_px > 0) return {};
    const toml::node* node = table.get("per_tile");
    return book_error(source, node != nullptr ? line_of(*node, line) : line,
                      path + ".per_tile needs tile_side_px > 0");
}

core::Result<WorkflowPrice> read_workflow(const BookSource& source, std::string_view name,
                                          const toml::table& table, std::uint32_t line) {
    const std::string path = child_path("workflows", name);
    auto keys = check_keys(source, table,
                           {"base", "per_megapixel", "per_output_megapixel", "upscale_surcharge",
                            "upscale_factors", "minimum", "model_input_size_range",
                            "default_quality", "tile_side_px", "per_tile", "quality"},
                           path, line);
    if (!keys) return keys.error();
    for (std::string_view required : {"base", "per_megapixel", "minimum"}) {
        if (!table.contains(required)) {
            return book_error(source, line, child_path(path, required) + " is missing");
        }
    }
    WorkflowPrice price;
    price.name = std::string(name);
    for (auto&& [key, node] : table) {
        auto status = read_coefficient(source, node, key.str(), path, price);
        if (!status) return status.error();
    }
    if (const toml::node* node = table.get("upscale_factors")) {
        auto factors = read_upscale_factors(source, *node, path + ".upscale_factors");
        if (!factors) return factors.error();
        price.upscale_factors_milli = std::move(factors).value();
    }
    if (const toml::node* node = table.get("model_input_size_range")) {
        auto status = read_input_size_range(source, *node, path + ".model_input_size_range", price);
        if (!status) return status.error();
    }
    if (const toml::node* node = table.get("quality")) {
        auto status = read_quality_levels(source, *node, path + ".quality", line, price);
        if (!status) return status.error();
    }
    if (auto status = read_default_quality(source, table, path, line, price); !status) {
        return status.error();
    }
    if (auto status = read_tiling(source, table, path, price); !status) return status.error();
    if (auto status = check_per_tile(source, table, path, line, price); !status) {
        return status.error();
    }
    return price;
}

}  // namespace

core::Status read_coefficient(const BookSource& source, const toml::node& node,
                              std::string_view key, const std::string& path, WorkflowPrice& price) {
    struct Coefficient {
        std::string_view key;
        std::int64_t WorkflowPrice::*field;
        std::int64_t tokens_max;
    };
    static constexpr Coefficient kCoefficients[] = {
        {"base", &WorkflowPrice::base_micro, kBaseTokensMax},
        {"per_megapixel", &WorkflowPrice::per_megapixel_micro, kPerMegapixelTokensMax},
        {"per_output_megapixel", &WorkflowPrice::per_output_megapixel_micro,
         kPerOutputMegapixelTokensMax},
        {"upscale_surcharge", &WorkflowPrice::upscale_surcharge_micro, kUpscaleSurchargeTokensMax},
        {"per_tile", &WorkflowPrice::per_tile_micro, kPerTileTokensMax},
    };
    const std::string key_path = child_path(path, key);
    if (key == "minimum") {
        auto minimum = read_integer(source, node, key_path, 0, kMinimumTokensMax);
        if (!minimum) return minimum.error();
        price.minimum_tokens = *minimum;
        return {};
    }
    for (const Coefficient& c : kCoefficients) {
        if (c.key != key) continue;
        auto micro =
            read_decimal(source, node, key_path, kMicroPlaces, c.tokens_max * kMicro, "tokens");
        if (!micro) return micro.error();
        price.*c.field = *micro;
        return {};
    }
    return {};
}

core::Status read_workflows(const BookSource& source, const toml::node& node,
                            std::uint32_t fallback, PriceBook& book) {
    auto table = read_table(source, node, "workflows", fallback);
    if (!table) return table.error();
    const std::uint32_t line = line_of(node, fallback);
    for (auto&& [key, entry] : **table) {
        const std::string path = child_path("workflows", key.str());
        const std::uint32_t entry_line = line_of(entry, line);
        if (!valid_lower_name(key.str())) {
            return book_error(source, entry_line, path + ": workflow names are 1-64 of [a-z0-9_]");
        }
        if (book.workflows.size() == kWorkflowsMax) {
            return book_error(source, entry_line,
                              "at most " + std::to_string(kWorkflowsMax) + " workflows");
        }
        auto workflow_table = read_table(source, entry, path, entry_line);
        if (!workflow_table) return workflow_table.error();
        auto price = read_workflow(source, key.str(), **workflow_table, entry_line);
        if (!price) return price.error();
        book.workflows.emplace(std::string(key.str()), std::move(price).value());
    }
    if (book.workflows.empty()) {
        return book_error(source, line, "workflows must define at least one workflow");
    }
    return {};
}

}  // namespace tollgate::pricing
