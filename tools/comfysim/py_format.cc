// Python str()/repr() for JSON values. Only the shapes that appear in ComfyUI
// validation messages need to be exact: scalars and lists of scalars. Objects
// fall back to a dict-like repr.
#include "comfysim/py_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tollgate::comfysim {
namespace {

std::string float_str(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    // Python prints the fewest significant digits that round-trip, in fixed
    // notation when the decimal exponent is in [-4, 16) ("1000.0", "0.0001")
    // and in exponent notation otherwise ("1e+16", "1e-05").
    char buf[64];
    int digits = 1;
    for (; digits < 17; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
    const char* e = std::strchr(buf, 'e');
    const int exponent = e != nullptr ? std::atoi(e + 1) : 0;
    if (exponent < -4 || exponent >= 16) return buf;
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, digits - 1 - exponent), v);
    std::string s = buf;
    if (s.find('.') == std::string::npos) s += ".0";
    return s;
}

std::string quote(const std::string& s) {
    const bool has_single = s.find('\'') != std::string::npos;
    const bool has_double = s.find('"') != std::string::npos;
    const char q = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, q);
    for (char c : s) {
        if (c == '\\' || c == q) {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else {
            out += c;
        }
    }
    out += q;
    return out;
}

}  // namespace

std::string py_str(const Json& value) {
    if (value.is_string()) return value.get<std::string>();
    return py_repr(value);
}

std::string py_repr(const Json& value) {
    switch (value.type()) {
        case Json::value_t::null:
            return "None";
        case Json::value_t::boolean:
            return value.get<bool>() ? "True" : "False";
        case Json::value_t::number_integer:
            return std::to_string(value.get<std::int64_t>());
        case Json::value_t::number_unsigned:
            return std::to_string(value.get<std::uint64_t>());
        case Json::value_t::number_float:
            return float_str(value.get<double>());
        case Json::value_t::string:
            return quote(value.get<std::string>());
        case Json::value_t::array: {
            std::string out = "[";
            bool first = true;
            for (const auto& item : value) {
                if (!first) out += ", ";
                first = false;
                out += py_repr(item);
            }
            return out + "]";
        }
        case Json::value_t::object: {
            std::string out = "{";
            bool first = true;
            for (const auto& [k, v] : value.items()) {
                if (!first) out += ", ";
                first = false;
                out += quote(k) + ": " + py_repr(v);
            }
            return out + "}";
        }
        default:
            return value.dump();
    }
}

}  // namespace tollgate::comfysim
