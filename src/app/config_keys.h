// Every key the configuration file may hold, table by table: the one list
// that the parser checks each table against (config.cc; any other key stops
// the start with "unknown key") and that docs/configuration.md documents,
// each key with its default (tests/app/config_keys_test.cc). Adding a key
// means adding it here, reading it in config.cc and documenting it.
//
// Tables are named as the file writes them: "server", "workflows.<name>"
// (one per workflow, any name), "facade.rules" (each [[facade.rules]]).
// Pure data; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tollgate::app {

struct ConfigTable {
    std::string_view name;
    std::vector<std::string_view> keys;
};

// Every table and its keys, in the order docs/configuration.md gives them.
const std::vector<ConfigTable>& config_tables();

// The keys of the table `name` ("server", "workflows.<name>", ...); empty for
// a table the file may not hold.
const std::vector<std::string_view>& config_table_keys(std::string_view name);

// What the file may hold at its top level: the first part of every table's
// name ("server", ..., "workflows", "facade"), each once.
std::vector<std::string_view> config_top_level_keys();

// Every key as a path: "server.listen", "workflows.<name>.template",
// "facade.rules.class_type".
std::vector<std::string> config_key_paths();

}  // namespace tollgate::app
