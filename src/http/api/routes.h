// The routes the gateway serves, as (method, path template) pairs: the one
// place a route is registered. Api::route looks every request up here before
// any handler runs: a path that no template matches gets 404 (kNoRouteMessage)
// and a method its template lacks gets 405 with an Allow header, so a handler
// whose route is missing from the table is never reached. docs/openapi.yaml
// documents exactly these routes (tests/http_api/openapi_routes_test.cc), and
// the metrics label requests by their templates.
//
// A template is literal segments and `{name}` segments, each of which matches
// any one segment of a path. Paths are compared segment by segment with empty
// segments ignored, as the handlers split them ("//v1//quote/" is /v1/quote).
// Pure data and functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tollgate::http {

// Native: /v1, with an API key. Admin: /admin, with the admin token.
// Service: the health check, the metrics and the web pages. Facade:
// ComfyUI's routes, served only when [facade] is on.
enum class RouteFamily { Native, Admin, Service, Facade };

struct RouteSpec {
    std::string_view method;  // "GET", "HEAD", "POST" or "DELETE"
    std::string_view path;    // the template, such as "/v1/jobs/{id}"
    RouteFamily family;
};

// The message of the 404 for a path no route serves, which tells it apart
// from a route's own 404 for a missing resource.
inline constexpr std::string_view kNoRouteMessage = "no route serves this path";

// Every route, the facade's included (each of them also under /api), in the
// order of the table; each (method, path) once.
const std::vector<RouteSpec>& registered_routes();

struct RouteLookup {
    // The template the path matches; empty when none does.
    std::string_view path_template;
    RouteFamily family = RouteFamily::Native;
    // Whether the template takes the request's method.
    bool method_allowed = false;
    // The template's methods, as an Allow header lists them ("GET, POST").
    std::string allowed_methods;
};

// The route of `method` and `path`. Of several templates that match a path,
// the one with the most literal segments wins. With `facade` false, the
// facade's routes are left out.
RouteLookup look_up_route(std::string_view method, std::string_view path, bool facade);

}  // namespace tollgate::http
