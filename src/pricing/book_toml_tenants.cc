// Reads [tenants.*]: enterprise terms (discount, own minimum, postpaid credit)
// and per-tenant coefficient overrides, merged at load into a full copy of
// every workflow (see book_toml_workflows.cc for why).
#include <string>

#include "pricing/book_toml_read.h"

namespace tollgate::pricing {
namespace {

constexpr int kBasisPointPlaces = 2;  // percent with two decimals

core::Status read_overrides(const BookSource& source, const toml::node& node,
                            const std::string& path, std::uint32_t fallback, TenantTerms& terms) {
    auto table = read_table(source, node, path, fallback);
    if (!table) return table.error();
    const std::uint32_t line = line_of(node, fallback);
    for (auto&& [key, entry] : **table) {
        const std::string workflow_path = child_path(path, key.str());
        const std::uint32_t entry_line = line_of(entry, line);
        auto it = terms.workflows.find(key.str());
        if (it == terms.workflows.end()) {
            return book_error(source, entry_line, workflow_path + " names no workflow of the book");
        }
        auto overrides = read_table(source, entry, workflow_path, entry_line);
        if (!overrides) return overrides.error();
        auto keys = check_keys(source, **overrides,
                               {"base", "per_megapixel", "per_output_megapixel",
                                "upscale_surcharge", "minimum", "per_tile"},
                               workflow_path, entry_line);
        if (!keys) return keys;
        WorkflowPrice& price = it->second;
        for (auto&& [coefficient, value] : **overrides) {
            auto status = read_coefficient(source, value, coefficient.str(), workflow_path, price);
            if (!status) return status;
        }
        if (price.per_tile_micro > 0 && price.tile_side_px == 0) {
            return book_error(source, entry_line,
                              workflow_path + ".per_tile needs the workflow's tile_side_px > 0");
        }
    }
    return {};
}

core::Status read_credit(const BookSource& source, const toml::table& table,
                         const std::string& path, std::uint32_t line, TenantTerms& terms) {
    if (const toml::node* node = table.get("postpaid")) {
        auto postpaid = read_bool(source, *node, path + ".postpaid");
        if (!postpaid) return postpaid.error();
        terms.postpaid = *postpaid;
    }
    const toml::node* credit = table.get("credit_limit");
    if (credit == nullptr) {
        if (!terms.postpaid) return {};
        return book_error(source, line,
                          path + ".credit_limit is missing (required when postpaid = true)");
    }
    if (!terms.postpaid) {
        return book_error(source, line_of(*credit, line),
                          path + ".credit_limit is only allowed with postpaid = true");
    }
    auto limit =
        read_integer(source, *credit, path + ".credit_limit", 1, core::limits::kGrantTokensMax);
    if (!limit) return limit.error();
    terms.credit_limit_tokens = *limit;
    return {};
}

core::Result<TenantTerms> read_tenant(const BookSource& source, std::string_view name,
                                      const toml::table& table, std::uint32_t line,
                                      const PriceBook& book) {
    const std::string path = child_path("tenants", name);
    auto keys = check_keys(source, table,
                           {"discount_percent", "minimum", "postpaid", "credit_limit", "workflows"},
                           path, line);
    if (!keys) return keys.error();
    TenantTerms terms;
    terms.name = std::string(name);
    terms.workflows = book.workflows;
    if (const toml::node* node = table.get("discount_percent")) {
        auto bp = read_decimal(source, *node, path + ".discount_percent", kBasisPointPlaces,
                               kDiscountBpMax, "%");
        if (!bp) return bp.error();
        terms.discount_bp = *bp;
    }
    if (const toml::node* node = table.get("minimum")) {
        auto minimum = read_integer(source, *node, path + ".minimum", 0, kMinimumTokensMax);
        if (!minimum) return minimum.error();
        terms.minimum_tokens = *minimum;
    }
    if (auto status = read_credit(source, table, path, line, terms); !status) {
        return status.error();
    }
    if (const toml::node* node = table.get("workflows")) {
        auto status = read_overrides(source, *node, path + ".workflows", line, terms);
        if (!status) return status.error();
    }
    return terms;
}

}  // namespace

core::Status read_tenants(const BookSource& source, const toml::node& node, std::uint32_t fallback,
                          PriceBook& book) {
    auto table = read_table(source, node, "tenants", fallback);
    if (!table) return table.error();
    const std::uint32_t line = line_of(node, fallback);
    for (auto&& [key, entry] : **table) {
        const std::string path = child_path("tenants", key.str());
        const std::uint32_t entry_line = line_of(entry, line);
        if (!valid_tenant_name(key.str())) {
            return book_error(source, entry_line,
                              path + ": tenant names are 1-64 of [A-Za-z0-9._-]");
        }
        if (book.tenants.size() == kTenantsMax) {
            return book_error(source, entry_line,
                              "at most " + std::to_string(kTenantsMax) + " tenants");
        }
        auto tenant_table = read_table(source, entry, path, entry_line);
        if (!tenant_table) return tenant_table.error();
        auto terms = read_tenant(source, key.str(), **tenant_table, entry_line, book);
        if (!terms) return terms.error();
        book.tenants.emplace(std::string(key.str()), std::move(terms).value());
    }
    return {};
}

}  // namespace tollgate::pricing
