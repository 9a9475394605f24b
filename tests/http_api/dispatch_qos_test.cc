// Quality of service at admission: a plan with dispatch_priority = "high"
// (VIP) is served before normal jobs, and a tenant may have at most
// tenant_jobs_max unfinished jobs, refused before anything is held.
#include <gtest/gtest.h>

#include "http/api/job_service.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

class DispatchQosTest : public testing_support::GatewayFixture {
  protected:
    void SetUp() override {
        queue_capacity_ = 8;
        tenant_jobs_max_ = 2;
        GatewayFixture::SetUp();
    }
    std::string funded_account(const std::string& name, const std::string& tenant) {
        const std::string id = ledger_->create_account(name).value();
        EXPECT_TRUE(ledger_->grant(id, core::Tokens(100), "").ok());
        if (!tenant.empty()) {
            EXPECT_TRUE(ledger_->set_tenant(id, tenant).value());
        }
        return id;
    }
    core::Result<SubmitResult> submit_as(const std::string& account) {
        return service_->submit(account, {"person", "", "", ""}, testing_support::png(800, 600));
    }
};

TEST_F(DispatchQosTest, VipJobsJumpTheQueue) {
    const std::string normal = funded_account("normal", "");
    const std::string vip = ledger_->create_account("vip").value();
    ASSERT_TRUE(plans_->subscribe(vip, *books_->current(), "vip").ok());
    block();
    auto first = submit_as(normal);
    ASSERT_EQ(first->outcome, SubmitOutcome::Accepted);
    wait_running(1);
    auto second = submit_as(normal);
    auto third = submit_as(vip);
    ASSERT_EQ(second->outcome, SubmitOutcome::Accepted);
    ASSERT_EQ(third->outcome, SubmitOutcome::Accepted);
    release();
    wait_final(second->job_id);
    wait_final(third->job_id);
    std::lock_guard lock(mu_);
    EXPECT_EQ(ran_, (std::vector<std::string>{first->job_id, third->job_id, second->job_id}));
}

TEST_F(DispatchQosTest, TenantCapRefusesWithNothingHeld) {
    const std::string a = funded_account("a", "half");
    const std::string b = funded_account("b", "half");
    const std::string loner = funded_account("loner", "");
    block();
    ASSERT_EQ(submit_as(a)->outcome, SubmitOutcome::Accepted);
    auto second = submit_as(b);
    ASSERT_EQ(second->outcome, SubmitOutcome::Accepted);
    auto refused = submit_as(a);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->outcome, SubmitOutcome::TenantBusy);
    EXPECT_TRUE(refused->job_id.empty());
    EXPECT_EQ(submit_as(b)->outcome, SubmitOutcome::TenantBusy);
    // Nothing was held for the refusals: one job each.
    EXPECT_EQ(ledger_->balance(a).value().held.value + ledger_->balance(b).value().held.value,
              5 + 5);  // tenant "half" halves the 10-token price
    // Accounts outside the tenant are not limited by it.
    EXPECT_EQ(submit_as(loner)->outcome, SubmitOutcome::Accepted);
    // The API says 429 with Retry-After.
    const std::string k = ledger_->create_api_key(a).value();
    Response r = call("POST", "/v1/jobs", testing_support::png(800, 600), k, "workflow=person");
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_NE(r.body.find("tenant_busy"), std::string::npos);
    bool retry_after = false;
    for (const auto& [name, value] : r.headers) retry_after |= name == "Retry-After";
    EXPECT_TRUE(retry_after);

    release();
    wait_final(second->job_id);
    auto again = submit_as(b);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->outcome, SubmitOutcome::Accepted);
    wait_final(again->job_id);
}

}  // namespace
}  // namespace tollgate::http
