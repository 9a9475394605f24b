// The price book: what each workflow costs, read from the [pricing] table of
// the configuration.
//
// Every coefficient is held as integer micro-tokens (1 token = 1'000'000
// micro-tokens, see core/tokens.h). Floating point exists only for the instant
// a TOML number is read; it is converted with llround and range-checked right
// there, so no float ever holds money. Key invariant: a PriceBook returned by
// parse_price_book has a non-empty version, at least one workflow, and every
// coefficient within [0, its *_max bound below], which keeps every quote far
// below core::limits::kQuoteTokensMax (see the static_assert). A PriceBook is
// an immutable value after loading; any thread may read it concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/result.h"
#include "core/tokens.h"

namespace tollgate::pricing {

// How a fractional subtotal becomes whole tokens. Nearest rounds half up
// (x.5 goes to x+1); subtotals are never negative, so this is the same as
// rounding half away from zero.
enum class Rounding { Floor, Ceil, Nearest };

// "floor", "ceil" or "nearest" (exact, lowercase); anything else is nullopt.
std::optional<Rounding> parse_rounding(std::string_view text);
std::string_view to_string(Rounding rounding);

// Bounds on a single coefficient, in whole tokens. They are sanity limits that
// catch a misplaced decimal point in the config, not business rules.
inline constexpr std::int64_t kBaseTokensMax = 1'000'000;
inline constexpr std::int64_t kPerMegapixelTokensMax = 1'000'000;
inline constexpr std::int64_t kUpscaleSurchargeTokensMax = 1'000'000;
inline constexpr std::int64_t kMinimumTokensMax = core::limits::kQuoteTokensMax;
inline constexpr std::size_t kWorkflowNameBytesMax = 64;

// The largest possible subtotal (100 MP at the top per-megapixel rate plus the
// largest base and surcharge) still fits in a quote, so quoting never needs to
// clamp and int64 micro-token sums never overflow.
static_assert(kBaseTokensMax +
                  kPerMegapixelTokensMax * (core::limits::kImagePixelsMax / 1'000'000) +
                  kUpscaleSurchargeTokensMax <=
              core::limits::kQuoteTokensMax);
static_assert(core::limits::kImagePixelsMax % 1'000'000 == 0);

struct WorkflowPrice {
    std::string name;
    std::int64_t base_micro = 0;               // charged on every job
    std::int64_t per_megapixel_micro = 0;      // per 1'000'000 input pixels
    std::int64_t upscale_surcharge_micro = 0;  // added when upscale factor > 1
    std::int64_t minimum_tokens = 0;           // whole tokens; the floor of any quote
};

struct PriceBook {
    std::string version;
    Rounding rounding = Rounding::Floor;
    std::map<std::string, WorkflowPrice, std::less<>> workflows;

    // The workflow named `name`, or nullptr if the book has none by that name.
    // The pointer lives as long as this PriceBook.
    const WorkflowPrice* find(std::string_view name) const;
};

// Parses the [pricing] table of a whole configuration document and ignores
// every other table. `source_name` names the document in error messages
// (usually its path). On failure the error code is "invalid_price_book" and
// the message reads "<source>:<line>: <what is wrong>", for example
// "config/tollgate.toml:23: pricing.workflows.person.base must be a
// non-negative number". Unknown keys inside [pricing] or a workflow table are
// errors, so a typo never silently prices a job at zero.
core::Result<PriceBook> parse_price_book(std::string_view toml_text, std::string_view source_name);

// Reads the file at `path` and parses it as above. An unreadable file is also
// "invalid_price_book", with a message naming the path.
core::Result<PriceBook> load_price_book(const std::string& path);

}  // namespace tollgate::pricing
