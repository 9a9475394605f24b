// A minimal valid configuration and price book, for tests of one config table:
// parse(extra) appends `extra` to the minimal file and parses it.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "app/config.h"
#include "support/temp_dir.h"

namespace tollgate::app::testing_support {

inline constexpr const char* kMinimalConfig = R"(
[pricing]
book = "pricing.toml"
[workflows.person]
template = "p.json"
workers = ["http://127.0.0.1:8188"]
)";

inline constexpr const char* kMinimalBook = R"(
version = "v1"
rounding = "floor"
[workflows.person]
base = 10
per_megapixel = 2.0
upscale_surcharge = 5
minimum = 10
)";

class ConfigTableTest : public ::testing::Test {
  protected:
    core::Result<Config> parse(const std::string& extra) {
        std::ofstream(dir_.file("pricing.toml")) << kMinimalBook;
        return parse_config(std::string(kMinimalConfig) + extra, dir_.file("tollgate.toml"));
    }
    tollgate::testing::TempDir dir_;
};

}  // namespace tollgate::app::testing_support
