// Python-flavoured formatting of JSON values, for ComfyUI-compatible messages.
//
// ComfyUI builds its validation messages with Python's str() and repr(), so a
// value 8 prints as "8", 8.0 as "8.0", a string list as "['a', 'b']" and
// null as "None". Clients compare these texts, so comfysim reproduces them.
// Also defines Json: comfysim emits ordered JSON so that objects keep the
// insertion order ComfyUI's dicts have (history in completion order, node
// inputs as sent). Pure functions; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tollgate::comfysim {

using Json = nlohmann::ordered_json;

// Python str(value): strings unquoted, True/False/None, floats with ".0".
std::string py_str(const Json& value);

// Python repr(value): strings in single quotes, lists as "[a, b]".
std::string py_repr(const Json& value);

}  // namespace tollgate::comfysim
