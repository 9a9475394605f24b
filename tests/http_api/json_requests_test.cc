// The request bodies of the JSON routes read into typed requests: what each
// accepts, its defaults, and the codes of what it refuses. Pure functions, so
// no server or ledger is needed here (api_test.cc and admin_money_test.cc
// cover the routes themselves).
#include "http/api/json_requests.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/limits.h"

namespace tollgate::http {
namespace {

template <typename T>
std::string code_of(const core::Result<T>& result) {
    return result.ok() ? "ok" : result.error().code;
}

TEST(JsonRequestsTest, BodiesMustBeBoundedJsonObjects) {
    EXPECT_EQ(code_of(parse_plan_request("not json")), "invalid_json");
    EXPECT_EQ(code_of(parse_plan_request("[]")), "invalid_json");
    EXPECT_EQ(code_of(parse_plan_request("")), "invalid_json");
    EXPECT_EQ(code_of(parse_plan_request(R"({"plan": "monthly"} trailing)")), "invalid_json");
    std::string large =
        R"({"plan": ")" +
        std::string(static_cast<std::size_t>(core::limits::kJsonBodyBytesMax), 'x') + R"("})";
    EXPECT_EQ(code_of(parse_plan_request(large)), "payload_too_large");
    // Nesting deeper than any real body is refused before parsing, and costs no stack.
    const std::string deep =
        R"({"plan": "p", "x": )" + std::string(30'000, '[') + std::string(30'000, ']') + "}";
    ASSERT_LE(deep.size(), static_cast<std::size_t>(core::limits::kJsonBodyBytesMax));
    EXPECT_EQ(code_of(parse_plan_request(deep)), "invalid_json");
    const auto nested = [](int levels) {  // the object itself is the first level
        return R"({"plan": "p", "x": )" + std::string(static_cast<std::size_t>(levels - 1), '[') +
               std::string(static_cast<std::size_t>(levels - 1), ']') + "}";
    };
    EXPECT_EQ(parse_plan_request(nested(kJsonRequestDepthMax)).value().plan, "p");
    EXPECT_EQ(code_of(parse_plan_request(nested(kJsonRequestDepthMax + 1))), "invalid_json");
}

TEST(JsonRequestsTest, GrantReadsEveryFieldAndItsDefaults) {
    auto grant = parse_grant_request(
        R"({"tokens": 500, "reason": "pack", "key": "k-1", "expires_in_days": 30, "priority": -7,
            "unknown": true})");
    ASSERT_TRUE(grant.ok()) << grant.error().message;
    EXPECT_EQ(grant->tokens, 500);
    EXPECT_EQ(grant->reason, "pack");
    EXPECT_EQ(grant->key, "k-1");
    EXPECT_EQ(grant->expires_in_days, 30);
    EXPECT_EQ(grant->priority, -7);

    auto bare = parse_grant_request(R"({"tokens": -3})");
    ASSERT_TRUE(bare.ok());
    EXPECT_EQ(bare->tokens, -3);  // the sign is the ledger's to judge
    EXPECT_EQ(bare->reason, "");
    EXPECT_FALSE(bare->expires_in_days.has_value());
    EXPECT_FALSE(bare->priority.has_value());
}

TEST(JsonRequestsTest, GrantRefusesWrongTypesAndRanges) {
    EXPECT_EQ(code_of(parse_grant_request("{}")), "invalid_tokens");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 5.0})")), "invalid_tokens");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": "5"})")), "invalid_tokens");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 5, "reason": 1})")), "invalid_reason");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 5, "key": null})")), "invalid_grant");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 5, "expires_in_days": -1})")),
              "invalid_grant");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 5, "expires_in_days": 3661})")),
              "invalid_grant");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 5, "expires_in_days": 3660})")), "ok");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 5, "priority": 1001})")), "invalid_grant");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 5, "priority": -1000})")), "ok");
}

// Found by fuzzing: nlohmann reads a number above INT64_MAX as unsigned, and
// get<int64_t>() wrapped it, so 18446744073709551615 became -1: an adjustment
// of -1 token or a grant priority of -1 instead of an error.
TEST(JsonRequestsTest, IntegersBeyondInt64AreRefusedNotWrapped) {
    EXPECT_EQ(
        code_of(parse_adjustment_request(R"({"tokens": 18446744073709551615, "reason": "x"})")),
        "invalid_tokens");
    EXPECT_EQ(
        code_of(parse_adjustment_request(R"({"tokens": 9223372036854775808, "reason": "x"})")),
        "invalid_tokens");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 18446744073709551615})")),
              "invalid_tokens");
    EXPECT_EQ(code_of(parse_grant_request(R"({"tokens": 1, "priority": 18446744073709551615})")),
              "invalid_grant");
    EXPECT_EQ(
        code_of(parse_grant_request(R"({"tokens": 1, "expires_in_days": 18446744073709551615})")),
        "invalid_grant");
    EXPECT_EQ(code_of(parse_refund_request(R"({"tokens": 18446744073709551615, "reason": "x"})")),
              "invalid_tokens");
    // The largest int64 is still an integer (the ledger bounds amounts).
    auto largest = parse_adjustment_request(R"({"tokens": 9223372036854775807, "reason": "x"})");
    ASSERT_TRUE(largest.ok());
    EXPECT_EQ(largest->tokens, std::numeric_limits<std::int64_t>::max());
}

TEST(JsonRequestsTest, AdjustmentNeedsNonZeroTokensAndAReason) {
    auto removal = parse_adjustment_request(R"({"tokens": -12, "reason": "chargeback"})");
    ASSERT_TRUE(removal.ok());
    EXPECT_EQ(removal->tokens, -12);
    EXPECT_EQ(removal->key, "");
    EXPECT_EQ(code_of(parse_adjustment_request(R"({"tokens": 0, "reason": "x"})")),
              "invalid_tokens");
    EXPECT_EQ(code_of(parse_adjustment_request(R"({"tokens": 5})")), "invalid_reason");
    EXPECT_EQ(code_of(parse_adjustment_request(R"({"tokens": 5, "reason": ""})")),
              "invalid_reason");
    EXPECT_EQ(code_of(parse_adjustment_request(R"({"tokens": 5, "reason": "x", "key": 7})")),
              "invalid_key");
}

TEST(JsonRequestsTest, RefundTokensAreOptionalButPositive) {
    auto rest = parse_refund_request(R"({"reason": "blurry"})");
    ASSERT_TRUE(rest.ok());
    EXPECT_FALSE(rest->tokens.has_value());
    auto part = parse_refund_request(R"({"reason": "blurry", "tokens": 4})");
    ASSERT_TRUE(part.ok());
    EXPECT_EQ(part->tokens, 4);
    EXPECT_EQ(code_of(parse_refund_request("{}")), "invalid_reason");
    EXPECT_EQ(code_of(parse_refund_request(R"({"reason": "x", "tokens": 0})")), "invalid_tokens");
    EXPECT_EQ(code_of(parse_refund_request(R"({"reason": "x", "tokens": 2.5})")), "invalid_tokens");
}

TEST(JsonRequestsTest, StringRequests) {
    auto account = parse_create_account_request(R"({"name": "Acme", "tenant": "acme"})");
    ASSERT_TRUE(account.ok());
    EXPECT_EQ(account->name, "Acme");
    EXPECT_EQ(account->tenant, "acme");
    EXPECT_EQ(code_of(parse_create_account_request(R"({"tenant": "acme"})")), "invalid_name");
    EXPECT_EQ(code_of(parse_create_account_request(R"({"name": "a", "tenant": 1})")),
              "unknown_tenant");
    EXPECT_EQ(parse_plan_request("{}").value().plan, "");
    EXPECT_EQ(code_of(parse_plan_request(R"({"plan": ["monthly"]})")), "unknown_plan");
    EXPECT_EQ(parse_tenant_request(R"({"tenant": ""})").value().tenant, "");
    EXPECT_EQ(code_of(parse_tenant_request(R"({"tenant": false})")), "unknown_tenant");
}

TEST(JsonRequestsTest, DrainDefaultsToDraining) {
    auto drain = parse_drain_request(R"({"url": "http://127.0.0.1:8188"})");
    ASSERT_TRUE(drain.ok());
    EXPECT_EQ(drain->url, "http://127.0.0.1:8188");
    EXPECT_TRUE(drain->draining);
    EXPECT_FALSE(parse_drain_request(R"({"draining": false})").value().draining);
    EXPECT_EQ(code_of(parse_drain_request(R"({"draining": 0})")), "invalid_draining");
    EXPECT_EQ(code_of(parse_drain_request(R"({"url": 8188})")), "unknown_worker");
}

}  // namespace
}  // namespace tollgate::http
