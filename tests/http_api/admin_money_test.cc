// The admin routes that move money by hand: adjustments and refunds, called
// as plain functions over real stores. Each movement is a ledger entry, keyed
// adjustments replay, and refunds never exceed the charge.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/api/api.h"
#include "http/api/json_requests.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

class AdminMoneyTest : public testing_support::GatewayFixture {
  protected:
    Response admin(const std::string& path, const std::string& body) {
        Request r;
        r.method = "POST";
        r.path = path;
        r.target = path;
        r.body = body;
        r.headers["authorization"] = "Bearer admin-secret";
        r.headers["content-type"] = "application/json";
        return api_->handle(r);
    }
    Response adjust(const std::string& body) {
        return admin("/admin/accounts/" + account_ + "/adjustments", body);
    }
    Response refund(const std::string& job_id, const std::string& body) {
        return admin("/admin/jobs/" + job_id + "/refunds", body);
    }
    std::string succeeded_job() {
        auto r = submit();
        EXPECT_TRUE(r.ok() && r->outcome == SubmitOutcome::Accepted);
        wait_final(r->job_id);
        return r->job_id;
    }
    bool verified() {
        std::int64_t checked = 0;
        auto mismatches = ledger_->verify(&checked);
        return mismatches.ok() && mismatches->empty() && checked > 0;
    }
    std::vector<std::string> kinds() {
        std::vector<std::string> out;
        auto entries = ledger_->entries(account_);
        EXPECT_TRUE(entries.ok());
        if (!entries.ok()) return out;
        for (const auto& e : *entries) out.push_back(e.kind);
        return out;
    }
};

TEST_F(AdminMoneyTest, AdjustmentAddsAndRemovesWithAReasonAndReplaysByKey) {
    Response added = adjust(R"({"tokens": 30, "reason": "goodwill", "key": "t-1"})");
    ASSERT_EQ(added.status, 201) << added.body;
    json a = json::parse(added.body);
    EXPECT_EQ(a["available"], 30);
    // The same key and amount again: the same entry, no second credit.
    Response again = adjust(R"({"tokens": 30, "reason": "goodwill", "key": "t-1"})");
    ASSERT_EQ(again.status, 201) << again.body;
    EXPECT_EQ(json::parse(again.body)["entry_id"], a["entry_id"]);
    EXPECT_EQ(balance().available(), core::Tokens(30));
    // The same key with another amount is a conflict.
    EXPECT_EQ(adjust(R"({"tokens": 31, "reason": "goodwill", "key": "t-1"})").status, 409);

    Response removed = adjust(R"({"tokens": -12, "reason": "chargeback"})");
    ASSERT_EQ(removed.status, 201) << removed.body;
    EXPECT_EQ(json::parse(removed.body)["available"], 18);
    // Never below zero.
    Response too_much = adjust(R"({"tokens": -19, "reason": "chargeback"})");
    EXPECT_EQ(too_much.status, 402) << too_much.body;
    EXPECT_EQ(balance().available(), core::Tokens(18));
    EXPECT_EQ(kinds(), (std::vector<std::string>{"adjustment", "adjustment"}));
    EXPECT_TRUE(verified());
}

TEST_F(AdminMoneyTest, AdjustmentRefusesBadInput) {
    EXPECT_EQ(adjust(R"({"tokens": 0, "reason": "x"})").status, 400);
    EXPECT_EQ(adjust(R"({"tokens": "5", "reason": "x"})").status, 400);
    EXPECT_EQ(adjust(R"({"tokens": 5})").status, 400);
    EXPECT_EQ(adjust(R"({"tokens": 5, "reason": ""})").status, 400);
    EXPECT_EQ(adjust(R"({"tokens": 5, "reason": "x", "key": 7})").status, 400);
    // Beyond int64: refused, not wrapped to -1 (which would remove a token).
    EXPECT_EQ(adjust(R"({"tokens": 18446744073709551615, "reason": "x"})").status, 400);
    EXPECT_EQ(adjust("not json").status, 400);
    // Nested deeper than the API's bodies ever are: refused before parsing.
    const std::string deep = R"({"tokens": 5, "reason": "x", "extra": )" +
                             std::string(kJsonRequestDepthMax, '[') +
                             std::string(kJsonRequestDepthMax, ']') + "}";
    const Response nested = adjust(deep);
    EXPECT_EQ(nested.status, 400);
    EXPECT_NE(nested.body.find("nests deeper"), std::string::npos) << nested.body;
    EXPECT_EQ(
        admin("/admin/accounts/acct_missing/adjustments", R"({"tokens": 5, "reason": "x"})").status,
        404);
    EXPECT_TRUE(ledger_->entries(account_).value().empty());
}

TEST_F(AdminMoneyTest, RefundReturnsPartOrTheRestOfAChargeAndNeverMore) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    const std::string job = succeeded_job();
    ASSERT_EQ(balance().available(), core::Tokens(40));

    Response part = refund(job, R"({"tokens": 4, "reason": "blurry result"})");
    ASSERT_EQ(part.status, 201) << part.body;
    json p = json::parse(part.body);
    EXPECT_EQ(p["refunded_tokens"], 4);
    EXPECT_EQ(p["refunded_total_tokens"], 4);
    EXPECT_EQ(p["captured_tokens"], 10);
    EXPECT_EQ(balance().available(), core::Tokens(44));
    // More than what remains of the charge is refused.
    EXPECT_EQ(refund(job, R"({"tokens": 7, "reason": "x"})").status, 409);
    // Without tokens: the rest, once; a retry refunds nothing more.
    Response rest = refund(job, R"({"reason": "customer asked"})");
    ASSERT_EQ(rest.status, 201) << rest.body;
    EXPECT_EQ(json::parse(rest.body)["refunded_tokens"], 6);
    EXPECT_EQ(refund(job, R"({"reason": "customer asked"})").status, 409);
    EXPECT_EQ(balance().available(), core::Tokens(50));
    EXPECT_EQ(kinds(), (std::vector<std::string>{"grant", "hold", "capture", "refund", "refund"}));
    EXPECT_TRUE(verified());
}

TEST_F(AdminMoneyTest, RefundNeedsAChargedJobAndAReason) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    EXPECT_EQ(refund("job_missing", R"({"reason": "x"})").status, 404);
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    auto failed = submit();
    ASSERT_TRUE(failed.ok());
    wait_final(failed->job_id);
    EXPECT_EQ(refund(failed->job_id, R"({"reason": "x"})").status, 409);
    kind_ = dispatch::JobOutcomeKind::Succeeded;
    const std::string job = succeeded_job();
    EXPECT_EQ(refund(job, R"({})").status, 400);
    EXPECT_EQ(refund(job, R"({"reason": "x", "tokens": 0})").status, 400);
    EXPECT_EQ(refund(job, R"({"reason": "x", "tokens": -3})").status, 400);
    EXPECT_EQ(balance().available(), core::Tokens(40));
}

}  // namespace
}  // namespace tollgate::http
