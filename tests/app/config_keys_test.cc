// The configuration's keys (app/config_keys.h) against docs/configuration.md
// and against the parser: every key is documented with a default and every
// documented key exists; the parser reads every key it lists and refuses any
// other.
//
// The document is read in the layout it keeps: a heading that is a table's
// name in backticks (## `[server]`, ### `[[facade.rules]]`), then a table
// whose header row starts with `| key | default |`, one row per key with
// the key in backticks.
#include "app/config_keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/config_fixture.h"
#include "support/temp_dir.h"

namespace tollgate::app {
namespace {

const std::string kConfigurationMd =
    (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" /
     "configuration.md")
        .string();

std::string trim(const std::string& s) {
    const std::size_t a = s.find_first_not_of(' ');
    if (a == std::string::npos) return "";
    return s.substr(a, s.find_last_not_of(' ') - a + 1);
}

struct DocumentedKeys {
    std::map<std::string, std::string> defaults;  // "server.listen" -> "`\"127.0.0.1:8080\"`"
    std::vector<std::string> errors;              // by line
};

// "## `[server]`" -> "server"; "### `[[facade.rules]]`" -> "facade.rules"; else "".
std::string table_of_heading(const std::string& line) {
    const std::string text = trim(line.substr(line.find(' ') + 1));
    for (const auto& [open, close] : {std::pair{"`[[", "]]`"}, std::pair{"`[", "]`"}}) {
        const std::string o = open, c = close;
        if (text.size() > o.size() + c.size() && text.rfind(o, 0) == 0 &&
            text.compare(text.size() - c.size(), c.size(), c) == 0) {
            return text.substr(o.size(), text.size() - o.size() - c.size());
        }
    }
    return "";
}

DocumentedKeys read_documented_keys(const std::string& file) {
    DocumentedKeys out;
    std::ifstream in(file);
    if (!in) {
        out.errors.push_back("cannot read " + file);
        return out;
    }
    std::string line, table, heading;
    bool in_key_table = false;
    for (int n = 1; std::getline(in, line); ++n) {
        const std::string where = "configuration.md:" + std::to_string(n) + ": ";
        if (line.rfind("#", 0) == 0) {
            heading = line;
            table = table_of_heading(line);
            continue;
        }
        if (line.rfind("| key | default |", 0) == 0) {
            if (table.empty()) out.errors.push_back(where + "a key table under " + heading);
            in_key_table = true;
            continue;
        }
        if (line.rfind("|", 0) != 0) {
            in_key_table = false;
            continue;
        }
        if (!in_key_table || line.rfind("|---", 0) == 0) continue;
        // | `key` | default | meaning |
        const std::size_t second = line.find('|', 1);
        const std::size_t third = line.find('|', second + 1);
        const std::string key = trim(line.substr(1, second - 1));
        const std::string fallback = trim(line.substr(second + 1, third - second - 1));
        if (key.size() < 3 || key.front() != '`' || key.back() != '`') {
            out.errors.push_back(where + "the key is not in backticks: " + key);
            continue;
        }
        const std::string path = table + "." + key.substr(1, key.size() - 2);
        if (fallback.empty() || third == std::string::npos) {
            out.errors.push_back(where + path + " has no default");
        }
        if (!out.defaults.emplace(path, fallback).second) {
            out.errors.push_back(where + path + " documented twice");
        }
    }
    return out;
}

std::string listed(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += "\n  " + s;
    return out;
}

TEST(ConfigKeysTest, TheDocumentKeepsItsLayout) {
    const DocumentedKeys doc = read_documented_keys(kConfigurationMd);
    EXPECT_TRUE(doc.errors.empty()) << listed(doc.errors);
    EXPECT_GT(doc.defaults.size(), 50u) << "read from " << kConfigurationMd;
}

TEST(ConfigKeysTest, EveryKeyIsDocumentedWithADefault) {
    const DocumentedKeys doc = read_documented_keys(kConfigurationMd);
    std::vector<std::string> missing;
    for (const std::string& path : config_key_paths()) {
        if (doc.defaults.count(path) == 0) missing.push_back(path);
    }
    EXPECT_TRUE(missing.empty()) << "keys the parser knows that docs/configuration.md lacks "
                                    "(a row `| \\`key\\` | default | meaning |` under the "
                                    "table's heading):"
                                 << listed(missing);
}

TEST(ConfigKeysTest, EveryDocumentedKeyExists) {
    const DocumentedKeys doc = read_documented_keys(kConfigurationMd);
    const std::vector<std::string> known = config_key_paths();
    std::vector<std::string> unknown;
    for (const auto& [path, fallback] : doc.defaults) {
        if (std::find(known.begin(), known.end(), path) == known.end()) unknown.push_back(path);
    }
    EXPECT_TRUE(unknown.empty()) << "documented in docs/configuration.md but unknown to "
                                    "src/app/config_keys.cc:"
                                 << listed(unknown);
}

// A file with the tables a config needs, and `table.key` set to `value`.
// "workflows.<name>" is written as the workflow "person", "facade.rules" as
// one [[facade.rules]] of an enabled facade.
std::string config_with(const std::string& table, const std::string& key,
                        const std::string& value) {
    std::map<std::string, std::map<std::string, std::string>> tables = {
        {"pricing", {{"book", "\"pricing.toml\""}}},
        {"workflows.person",
         {{"template", "\"p.json\""}, {"workers", "[\"http://127.0.0.1:8188\"]"}}},
    };
    if (table == "facade.rules") {
        tables["facade"]["enabled"] = "true";
        tables["facade.rules"] = {{"class_type", "\"DDColor\""}, {"workflow", "\"person\""}};
    }
    const std::string name = table == "workflows.<name>" ? "workflows.person" : table;
    tables[name][key] = value;
    std::string out;
    for (const auto& [t, keys] : tables) {
        out += t == "facade.rules" ? "[[facade.rules]]\n" : "[" + t + "]\n";
        for (const auto& [k, v] : keys) out += k + " = " + v + "\n";
    }
    return out;
}

class ConfigKeysParserTest : public ::testing::Test {
  protected:
    core::Result<Config> parse(const std::string& text) {
        std::ofstream(dir_.file("pricing.toml")) << testing_support::kMinimalBook;
        return parse_config(text, dir_.file("tollgate.toml"));
    }
    testing::TempDir dir_;
};

TEST_F(ConfigKeysParserTest, TheBaseFileLoads) {
    auto c = parse(config_with("server", "threads", "2"));
    EXPECT_TRUE(c.ok()) << c.error().message;
    c = parse(config_with("facade.rules", "size_input", "\"\""));
    EXPECT_TRUE(c.ok()) << c.error().message;
}

// A date is no key's type, so a key the parser reads is refused by name; one
// it only lets through would load.
TEST_F(ConfigKeysParserTest, EveryKnownKeyIsRead) {
    for (const ConfigTable& t : config_tables()) {
        for (std::string_view key : t.keys) {
            const std::string table(t.name), path = table + "." + std::string(key);
            auto c = parse(config_with(table, std::string(key), "1979-05-27T07:32:00Z"));
            const std::string named =
                table == "workflows.<name>" ? "workflows.person." + std::string(key) : path;
            ASSERT_FALSE(c.ok()) << path << " is known but never read";
            EXPECT_EQ(c.error().code, "invalid_config") << path;
            EXPECT_NE(c.error().message.find(named), std::string::npos)
                << path << ": " << c.error().message;
        }
    }
}

TEST_F(ConfigKeysParserTest, AnyOtherKeyIsRefusedInEveryTable) {
    for (const ConfigTable& t : config_tables()) {
        const std::string table(t.name);
        auto c = parse(config_with(table, "colour", "1"));
        const std::string named = table == "workflows.<name>" ? "workflows.person" : table;
        ASSERT_FALSE(c.ok()) << table << " took an unknown key";
        EXPECT_NE(c.error().message.find("unknown key " + named + ".colour"), std::string::npos)
            << c.error().message;
    }
    auto c = parse(config_with("colours", "red", "1"));
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("unknown key (top level).colours"), std::string::npos)
        << c.error().message;
}

}  // namespace
}  // namespace tollgate::app
