// AccessCache: what it reuses, for how long, what forgets it at once, and
// that money never waits on it. Over a real SQLite ledger and a manual clock;
// the Api tests go through the gateway fixture with the cache on.
#include "http/api/access_cache.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "http_api/fixture.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/sqlite.h"
#include "support/temp_dir.h"

namespace tollgate::http {
namespace {

constexpr std::int64_t kTtlMs = 1'000;

class AccessCacheTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = store::Database::open(dir_.file("t.db")).value();
        ledger_ = ledger::SqliteLedger::open(*db_, clock_).value();
        account_ = ledger_->create_account("a").value();
        minted_ = ledger_->create_api_key(spec()).value();
    }
    // A key of the account with every scope and no expiry.
    ledger::ApiKeySpec spec() const {
        ledger::ApiKeySpec s;
        s.account_id = account_;
        return s;
    }
    bool revoked_in(AccessCache& cache) {
        auto key = cache.find_api_key(minted_.secret);
        EXPECT_TRUE(key.ok() && key->has_value());
        return key.ok() && key->has_value() && (*key)->revoked_ms.has_value();
    }
    std::string tenant_in(AccessCache& cache, const std::string& account_id) {
        auto account = cache.account(account_id);
        EXPECT_TRUE(account.ok() && account->has_value());
        return account.ok() && account->has_value() ? (*account)->tenant : "<none>";
    }

    testing::TempDir dir_;
    core::ManualClock clock_{1'700'000'000'000};
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<ledger::SqliteLedger> ledger_;
    std::string account_;
    ledger::NewApiKey minted_;
};

TEST_F(AccessCacheTest, AKeyChangedBehindItsBackIsReusedUntilTheTtlRunsOut) {
    AccessCache cache(*ledger_, clock_, kTtlMs);
    EXPECT_FALSE(revoked_in(cache));
    ASSERT_TRUE(ledger_->revoke_api_key(account_, minted_.id).ok());
    EXPECT_FALSE(revoked_in(cache));  // still the first answer
    EXPECT_EQ(cache.hits(), 1);
    clock_.advance_ms(kTtlMs - 1);
    EXPECT_FALSE(revoked_in(cache));
    clock_.advance_ms(1);
    EXPECT_TRUE(revoked_in(cache));  // read again
    EXPECT_EQ(cache.hits(), 2);
}

TEST_F(AccessCacheTest, ForgetAllMakesTheNextReadGoToTheStore) {
    AccessCache cache(*ledger_, clock_, kTtlMs);
    EXPECT_FALSE(revoked_in(cache));
    EXPECT_EQ(tenant_in(cache, account_), "");
    ASSERT_TRUE(cache.subscriptions(account_).value().empty());
    ASSERT_TRUE(ledger_->revoke_api_key(account_, minted_.id).ok());
    ASSERT_TRUE(ledger_->set_tenant(account_, "acme").value());
    ASSERT_TRUE(ledger_->subscribe(account_, "monthly").ok());
    cache.forget_all();
    EXPECT_TRUE(revoked_in(cache));
    EXPECT_EQ(tenant_in(cache, account_), "acme");
    auto subs = cache.subscriptions(account_).value();
    ASSERT_EQ(subs.size(), 1u);
    EXPECT_EQ(subs[0].plan, "monthly");
    EXPECT_EQ(cache.hits(), 0);
}

TEST_F(AccessCacheTest, TenantsAndSubscriptionsAreReusedPerAccountForTheTtl) {
    AccessCache cache(*ledger_, clock_, kTtlMs);
    EXPECT_EQ(tenant_in(cache, account_), "");
    EXPECT_TRUE(cache.subscriptions(account_).value().empty());
    ASSERT_TRUE(ledger_->set_tenant(account_, "acme").value());
    ASSERT_TRUE(ledger_->subscribe(account_, "monthly").ok());
    EXPECT_EQ(tenant_in(cache, account_), "");
    EXPECT_TRUE(cache.subscriptions(account_).value().empty());
    // Another account is its own entry.
    const std::string other = ledger_->create_account("b").value();
    ASSERT_TRUE(ledger_->set_tenant(other, "globex").value());
    EXPECT_EQ(tenant_in(cache, other), "globex");
    clock_.advance_ms(kTtlMs);
    EXPECT_EQ(tenant_in(cache, account_), "acme");
    EXPECT_EQ(cache.subscriptions(account_).value().size(), 1u);
}

TEST_F(AccessCacheTest, UnknownSecretsAreNeverRemembered) {
    AccessCache cache(*ledger_, clock_, kTtlMs);
    for (int i = 0; i < 3; ++i) {
        auto key = cache.find_api_key("tg_made_up");
        ASSERT_TRUE(key.ok());
        EXPECT_FALSE(key->has_value());
    }
    EXPECT_EQ(cache.hits(), 0);
    // A key minted after a miss works at once.
    auto fresh = ledger_->create_api_key(spec()).value();
    auto key = cache.find_api_key(fresh.secret);
    ASSERT_TRUE(key.ok() && key->has_value());
    EXPECT_EQ((*key)->id, fresh.id);
}

TEST_F(AccessCacheTest, ZeroTtlReadsTheStoreEveryTime) {
    AccessCache cache(*ledger_, clock_, 0);
    EXPECT_FALSE(revoked_in(cache));
    ASSERT_TRUE(ledger_->revoke_api_key(account_, minted_.id).ok());
    EXPECT_TRUE(revoked_in(cache));
    ASSERT_TRUE(ledger_->set_tenant(account_, "acme").value());
    EXPECT_EQ(tenant_in(cache, account_), "acme");
    EXPECT_EQ(cache.hits(), 0);
}

TEST_F(AccessCacheTest, AFullMapIsEmptiedBeforeItGrowsPastItsBound) {
    AccessCache cache(*ledger_, clock_, kTtlMs, 2);
    const std::string b = ledger_->create_account("b").value();
    const std::string c = ledger_->create_account("c").value();
    EXPECT_EQ(tenant_in(cache, account_), "");
    EXPECT_EQ(tenant_in(cache, b), "");
    ASSERT_TRUE(ledger_->set_tenant(account_, "acme").value());
    ASSERT_TRUE(ledger_->set_tenant(b, "acme").value());
    EXPECT_EQ(tenant_in(cache, b), "");  // remembered: the map holds two
    EXPECT_EQ(tenant_in(cache, c), "");  // a third empties it first
    EXPECT_EQ(tenant_in(cache, account_), "acme");
    EXPECT_EQ(tenant_in(cache, b), "acme");
}

TEST_F(AccessCacheTest, AClockThatSteppedBackReadsAgain) {
    AccessCache cache(*ledger_, clock_, kTtlMs);
    EXPECT_FALSE(revoked_in(cache));
    ASSERT_TRUE(ledger_->revoke_api_key(account_, minted_.id).ok());
    clock_.advance_ms(-1);
    EXPECT_TRUE(revoked_in(cache));
}

// Through the Api, with [server] access_cache_ms = 1000.
class CachedApiTest : public testing_support::GatewayFixture {
  protected:
    void SetUp() override {
        access_cache_ms_ = kTtlMs;
        GatewayFixture::SetUp();
    }
    Response quote(const std::string& key) {
        return call("POST", "/v1/quote", png_, key, "workflow=person");
    }
    std::int64_t quoted_tokens(const std::string& key) {
        Response r = quote(key);
        EXPECT_EQ(r.status, 200) << r.body;
        return nlohmann::json::parse(r.body).value("tokens", -1);
    }
    std::string png_ = testing_support::png(800, 600);
};

TEST_F(CachedApiTest, AKeyRevokedThroughTheAdminApiIsRefusedAtOnce) {
    Response minted = admin("POST", "/admin/accounts/" + account_ + "/keys");
    ASSERT_EQ(minted.status, 201) << minted.body;
    const auto body = nlohmann::json::parse(minted.body);
    const std::string secret = body["api_key"];
    EXPECT_EQ(quote(secret).status, 200);
    EXPECT_EQ(quote(secret).status, 200);
    EXPECT_GE(plans_->access().hits(), 1);
    Response revoked = admin(
        "DELETE", "/admin/accounts/" + account_ + "/keys/" + body["key_id"].get<std::string>());
    ASSERT_EQ(revoked.status, 200) << revoked.body;
    EXPECT_EQ(quote(secret).status, 401);
}

TEST_F(CachedApiTest, ARefusedAdminRequestForgetsNothing) {
    const std::string k = key();
    EXPECT_EQ(quote(k).status, 200);
    const std::int64_t hits = plans_->access().hits();
    Response refused = call("POST", "/admin/accounts", R"({"name":"x"})", "wrong-token");
    ASSERT_EQ(refused.status, 401) << refused.body;
    EXPECT_EQ(quote(k).status, 200);
    EXPECT_GT(plans_->access().hits(), hits);
}

TEST_F(CachedApiTest, ATenantSetThroughTheAdminApiPricesTheNextQuote) {
    const std::string k = key();
    EXPECT_EQ(quoted_tokens(k), 10);
    Response set = admin("POST", "/admin/accounts/" + account_ + "/tenant", R"({"tenant":"half"})");
    ASSERT_EQ(set.status, 200) << set.body;
    EXPECT_EQ(quoted_tokens(k), 5);  // 10.96 x 50% = 5.48 -> 5
}

TEST_F(CachedApiTest, AQuoteMayUseTermsAMomentOldButAJobReadsTheStore) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
    const std::string k = key();
    EXPECT_EQ(quoted_tokens(k), 10);
    // Changed behind the Api's back, as another instance would.
    ASSERT_TRUE(ledger_->set_tenant(account_, "half").value());
    EXPECT_EQ(quoted_tokens(k), 10);
    auto job = submit();
    ASSERT_TRUE(job.ok());
    ASSERT_EQ(job->outcome, SubmitOutcome::Accepted);
    EXPECT_EQ(job->priced.quote.tokens, core::Tokens(5));
    wait_final(job->job_id);
    EXPECT_EQ(balance().captured, core::Tokens(5));
    clock_.advance_ms(kTtlMs);
    EXPECT_EQ(quoted_tokens(k), 5);
}

}  // namespace
}  // namespace tollgate::http
