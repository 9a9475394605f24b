#include "pricing/price_book.h"

namespace tollgate::pricing {

std::optional<Rounding> parse_rounding(std::string_view text) {
    if (text == "floor") return Rounding::Floor;
    if (text == "ceil") return Rounding::Ceil;
    if (text == "nearest") return Rounding::Nearest;
    return std::nullopt;
}

std::string_view to_string(Rounding rounding) {
    switch (rounding) {
        case Rounding::Floor:
            return "floor";
        case Rounding::Ceil:
            return "ceil";
        case Rounding::Nearest:
            return "nearest";
    }
    TOLLGATE_ASSERT(false && "unknown Rounding");
}

const WorkflowPrice* PriceBook::find(std::string_view name) const {
    auto it = workflows.find(name);
    return it == workflows.end() ? nullptr : &it->second;
}

}  // namespace tollgate::pricing
