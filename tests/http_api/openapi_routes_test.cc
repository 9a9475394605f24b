// docs/openapi.yaml against the routes the gateway registers (http/api/routes.h):
// every registered route is documented and every documented route is
// registered, each operation with a summary and its responses, each path
// parameter declared. Then the table against the running Api: every route
// in it reaches a handler, and nothing outside it does.
//
// The YAML is read in the strict layout the file keeps (two spaces per
// level, paths at level 1, their methods at level 2) rather than by a YAML
// library, so a file that strays from that layout fails here by line number.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "http/api/routes.h"
#include "http_api/fixture.h"

namespace tollgate::http::testing_support {
namespace {

const std::string kOpenApiPath =
    (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" /
     "openapi.yaml")
        .string();

// "GET /v1/jobs/{id}".
using Route = std::string;

Route route_of(std::string_view method, std::string_view path) {
    return std::string(method) + " " + std::string(path);
}

// One operation as the file writes it.
struct Operation {
    int line = 0;
    std::vector<std::string> body;  // its lines, indented 6 or more
};

struct OpenApiPaths {
    std::map<Route, Operation> operations;
    std::map<std::string, std::vector<std::string>> path_blocks;  // every line under a path
    std::vector<std::string> errors;                              // layout errors, by line
};

int indent_of(const std::string& line) { return static_cast<int>(line.find_first_not_of(' ')); }

// The `paths:` section of the file: paths at indent 2, methods at indent 4.
OpenApiPaths read_openapi_paths(const std::string& file) {
    static const std::regex kMethod("(get|put|post|delete|options|head|patch|trace):");
    static const std::set<std::string> kPathFields = {"parameters:", "summary:", "description:"};
    OpenApiPaths out;
    std::ifstream in(file);
    if (!in) {
        out.errors.push_back("cannot read " + file);
        return out;
    }
    std::string line, path;
    Operation* op = nullptr;
    bool in_paths = false;
    for (int n = 1; std::getline(in, line); ++n) {
        const std::string where = "openapi.yaml:" + std::to_string(n) + ": ";
        const std::size_t first = line.find_first_not_of(' ');
        if (first == std::string::npos || line[first] == '#') continue;
        const int indent = indent_of(line);
        const std::string text = line.substr(first);
        if (indent == 0) {
            in_paths = text == "paths:";
            continue;
        }
        if (!in_paths) continue;
        if (indent == 2) {
            if (text.front() != '/' || text.back() != ':') {
                out.errors.push_back(where + "a path at this level is /...: (unquoted)");
            }
            path = text.substr(0, text.size() - 1);
            op = nullptr;
            continue;
        }
        out.path_blocks[path].push_back(text);
        if (indent == 4) {
            op = nullptr;
            std::smatch m;
            if (std::regex_match(text, m, kMethod)) {
                std::string method = m[1];
                for (char& c : method) c = static_cast<char>(std::toupper(c));
                auto [it, fresh] = out.operations.emplace(route_of(method, path), Operation{n, {}});
                if (!fresh) out.errors.push_back(where + "a second " + method + " " + path);
                op = &it->second;
            } else if (kPathFields.count(text.substr(0, text.find(' '))) == 0) {
                out.errors.push_back(where + "expected a method or parameters under " + path);
            }
            continue;
        }
        if (op != nullptr && indent >= 6) op->body.push_back(line.substr(6));
    }
    return out;
}

const OpenApiPaths& documented() {
    static const OpenApiPaths paths = read_openapi_paths(kOpenApiPath);
    return paths;
}

std::set<Route> registered() {
    std::set<Route> out;
    for (const RouteSpec& r : registered_routes()) out.insert(route_of(r.method, r.path));
    return out;
}

std::string listed(const std::vector<Route>& routes) {
    std::string out;
    for (const Route& r : routes) out += "\n  " + r;
    return out;
}

TEST(OpenApiRoutesTest, TheFileKeepsItsLayout) {
    EXPECT_TRUE(documented().errors.empty()) << listed(documented().errors);
    EXPECT_GT(documented().operations.size(), 40u) << "read from " << kOpenApiPath;
}

TEST(OpenApiRoutesTest, EveryRegisteredRouteIsDocumented) {
    std::vector<Route> missing;
    for (const Route& r : registered()) {
        if (documented().operations.count(r) == 0) missing.push_back(r);
    }
    EXPECT_TRUE(missing.empty()) << "served but not in docs/openapi.yaml:" << listed(missing);
}

TEST(OpenApiRoutesTest, EveryDocumentedRouteIsRegistered) {
    const std::set<Route> served = registered();
    std::vector<Route> extra;
    for (const auto& [r, op] : documented().operations) {
        if (served.count(r) == 0) extra.push_back(r + " (line " + std::to_string(op.line) + ")");
    }
    EXPECT_TRUE(extra.empty()) << "in docs/openapi.yaml but not registered in "
                                  "src/http/api/routes.cc:"
                               << listed(extra);
}

TEST(OpenApiRoutesTest, EveryOperationHasASummaryAndResponses) {
    std::vector<Route> incomplete;
    for (const auto& [r, op] : documented().operations) {
        bool summary = false, responses = false;
        for (const std::string& line : op.body) {
            summary = summary || line.rfind("summary: ", 0) == 0;
            responses = responses || line == "responses:";
        }
        if (!summary || !responses) incomplete.push_back(r);
    }
    EXPECT_TRUE(incomplete.empty()) << "without a summary or responses:" << listed(incomplete);
}

TEST(OpenApiRoutesTest, EveryPathParameterIsDeclared) {
    static const std::regex kParameter("\\{([a-z_]+)\\}");
    std::vector<Route> undeclared;
    for (const auto& [path, block] : documented().path_blocks) {
        for (std::sregex_iterator it(path.begin(), path.end(), kParameter), end; it != end; ++it) {
            const std::string name = (*it)[1];
            bool declared = false;
            for (std::size_t i = 0; i + 1 < block.size(); ++i) {
                declared =
                    declared || (block[i] == "- name: " + name && block[i + 1] == "in: path");
            }
            if (!declared) undeclared.push_back(path + ": {" + name + "}");
        }
    }
    EXPECT_TRUE(undeclared.empty())
        << "path parameters without `- name: X` then `in: path`:" << listed(undeclared);
}

// Each registered template with its parameters filled in.
std::string concrete(std::string_view path_template) {
    return std::regex_replace(std::string(path_template), std::regex("\\{[a-z_]+\\}"), "x1");
}

TEST(OpenApiRoutesTest, MetricsLabelEveryRouteByItsTemplate) {
    for (const RouteSpec& r : registered_routes()) {
        const std::string label =
            std::regex_replace(std::string(r.path), std::regex("\\{[a-z_]+\\}"), "{id}");
        EXPECT_EQ(route_template(concrete(r.path)), label) << r.method << " " << r.path;
    }
}

class RegisteredRoutesTest : public GatewayFixture {
  protected:
    void SetUp() override {
        facade_.emplace();
        GatewayFixture::SetUp();
    }
    // What the router itself answers, as opposed to a handler.
    static bool refused_by_router(const Response& r) {
        if (r.status == 405) return true;
        return r.status == 404 && r.body.find(kNoRouteMessage) != std::string::npos;
    }
    Response send(std::string_view method, const std::string& path, const std::string& token) {
        return call(std::string(method), path, "", token);
    }
};

TEST_F(RegisteredRoutesTest, EveryRegisteredRouteReachesAHandler) {
    const std::string key = this->key();
    for (const RouteSpec& r : registered_routes()) {
        const bool admin = r.family == RouteFamily::Admin || r.path == "/metrics";
        const Response answer = send(r.method, concrete(r.path), admin ? "admin-secret" : key);
        EXPECT_FALSE(refused_by_router(answer))
            << r.method << " " << r.path << ": " << answer.status << " " << answer.body;
    }
}

TEST_F(RegisteredRoutesTest, NothingElseReachesAHandler) {
    for (const char* method : {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"}) {
        for (const RouteSpec& r : registered_routes()) {
            if (registered().count(route_of(method, r.path)) != 0) continue;
            const Response answer = send(method, concrete(r.path), "admin-secret");
            EXPECT_EQ(answer.status, 405) << method << " " << r.path << ": " << answer.body;
        }
        for (const char* path : {"/v1", "/v1/jobs/x/y/z", "/admin/nothing", "/api/v1/jobs",
                                 "/dashboard/a/b", "/app", "/wp-login.php"}) {
            const Response answer = send(method, path, "admin-secret");
            EXPECT_EQ(answer.status, 404) << method << " " << path;
            EXPECT_TRUE(refused_by_router(answer)) << method << " " << path << ": " << answer.body;
        }
    }
}

TEST_F(RegisteredRoutesTest, AWrongMethodIsToldTheRightOnes) {
    Response r = send("PUT", "/v1/jobs/job_1", "admin-secret");
    EXPECT_EQ(r.status, 405);
    bool allow = false;
    for (const auto& [name, value] : r.headers)
        allow = allow || (name == "Allow" && value == "GET, DELETE");
    EXPECT_TRUE(allow) << r.body;
    // The facade's keep ComfyUI's error shape.
    r = send("DELETE", "/api/prompt", "admin-secret");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["type"], "method_not_allowed") << r.body;
}

class FacadeOffTest : public GatewayFixture {};

TEST_F(FacadeOffTest, ItsRoutesAreNotServed) {
    const Response r = call("POST", "/prompt", "{}", key());
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find(kNoRouteMessage), std::string::npos) << r.body;
}

}  // namespace
}  // namespace tollgate::http::testing_support
