// Duplicates beyond the exact bytes of one account: near duplicates (a
// re-encoded, resized copy made with libvips here), the scope (another
// account never matches, the tenant's accounts do under scope = tenant,
// another tenant never does) and the window (measured with the fixture's
// manual clock).
#include <gtest/gtest.h>

#include "http_api/dedupe_fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;
using testing_support::DedupeFixture;

constexpr std::int64_t kDayMs = 86'400'000;

class DedupeNearTest : public DedupeFixture {};

TEST_F(DedupeNearTest, AReencodedCopyIsFlaggedAndChargedAnUnrelatedPhotoIsNot) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    // The same photo as JPEG at quality 70, 90% of the size.
    const std::string copy = testing::reencoded(photo, 0.9, 70);
    ASSERT_FALSE(copy.empty());
    const json near = admitted(post(copy));
    ASSERT_TRUE(near.contains("dedupe")) << near;
    EXPECT_EQ(near["dedupe"]["kind"], "near");
    EXPECT_EQ(near["dedupe"]["of"], first["job_id"]);
    EXPECT_LE(near["dedupe"]["distance"].get<int>(), jobs::kNearDistanceMaxDefault);
    EXPECT_EQ(near["dedupe"]["reused"], false);
    EXPECT_EQ(near["tokens"], 10);  // flagged, charged as usual
    wait_final(near["job_id"]);
    EXPECT_EQ(get_job(near["job_id"])["dedupe"]["kind"], "near");
    const usage::UsageRecord record = usage_of(near["job_id"]);
    EXPECT_EQ(record.tokens, 10);
    EXPECT_EQ(record.dedupe_kind, "near");
    EXPECT_EQ(record.dedupe_of, first["job_id"]);
    EXPECT_EQ(record.dedupe_distance, near["dedupe"]["distance"].get<int>());

    const json unrelated = admitted(post(testing::seeded_photo(800, 600, 3, 85)));
    EXPECT_FALSE(unrelated.contains("dedupe")) << unrelated;
    wait_final(unrelated["job_id"]);
    EXPECT_EQ(usage_of(unrelated["job_id"]).dedupe_kind, "");
    EXPECT_EQ(runs(), 3u);
    EXPECT_EQ(balance().captured, core::Tokens(30));
}

class DedupeNearReuseTest : public DedupeFixture {
  protected:
    DedupeNearReuseTest() { dedupe_.near_policy = jobs::NearDedupePolicy::Reuse; }
};

TEST_F(DedupeNearReuseTest, OperatorsMayReuseTheResultForANearDuplicate) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    const json copy = admitted(post(testing::reencoded(photo, 0.9, 70)));
    EXPECT_EQ(copy["state"], "succeeded");
    EXPECT_EQ(copy["tokens"], 0);
    EXPECT_EQ(copy["dedupe"]["kind"], "near");
    EXPECT_EQ(copy["dedupe"]["reused"], true);
    EXPECT_EQ(result_of(copy["job_id"]), result_of(first["job_id"]));
    EXPECT_EQ(runs(), 1u);
    EXPECT_EQ(balance().captured, core::Tokens(10));
}

class DedupeNearRejectTest : public DedupeFixture {
  protected:
    DedupeNearRejectTest() { dedupe_.near_policy = jobs::NearDedupePolicy::Reject; }
};

TEST_F(DedupeNearRejectTest, OrRefuseIt) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    Response refused = post(testing::reencoded(photo, 0.9, 70));
    EXPECT_EQ(refused.status, 409) << refused.body;
    const json body = json::parse(refused.body);
    EXPECT_EQ(body["error"]["code"], "duplicate");
    EXPECT_EQ(body["duplicate_of"], first["job_id"]);
    EXPECT_EQ(body["error"]["dedupe"]["kind"], "near");
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(entries_of("hold"), 1);
}

class DedupeScopeTest : public DedupeFixture {};

TEST_F(DedupeScopeTest, AnotherAccountNeverMatchesUnderAccountScope) {
    ASSERT_TRUE(ledger_->set_tenant(account_, "acme").value());
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    std::string other_id;
    // Same tenant, another account: its own job, charged, not even flagged.
    const std::string other = other_account("b", "acme", &other_id);
    const json theirs = admitted(post(photo, other));
    EXPECT_FALSE(theirs.contains("dedupe")) << theirs;
    EXPECT_EQ(theirs["tokens"], 10);
    wait_final(theirs["job_id"]);
    EXPECT_EQ(entries_of("capture", other_id), 1);
    EXPECT_EQ(runs(), 2u);
}

class DedupeTenantScopeTest : public DedupeFixture {
  protected:
    DedupeTenantScopeTest() { dedupe_.scope = jobs::DedupeScope::Tenant; }
};

TEST_F(DedupeTenantScopeTest, TheTenantsAccountsShareAndOtherTenantsNever) {
    ASSERT_TRUE(ledger_->set_tenant(account_, "acme").value());
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);

    std::string colleague_id;
    const std::string colleague = other_account("b", "acme", &colleague_id);
    const json shared = admitted(post(photo, colleague));
    EXPECT_EQ(shared["dedupe"]["kind"], "exact");
    EXPECT_EQ(shared["dedupe"]["of"], first["job_id"]);
    EXPECT_EQ(shared["tokens"], 0);
    EXPECT_EQ(result_of(shared["job_id"], colleague), result_of(first["job_id"]));
    EXPECT_EQ(entries_of("hold", colleague_id), 0);

    std::string stranger_id;
    const std::string stranger = other_account("c", "half", &stranger_id);
    const json other_tenant = admitted(post(photo, stranger));
    EXPECT_FALSE(other_tenant.contains("dedupe")) << other_tenant;
    EXPECT_GT(other_tenant["tokens"], 0);
    // Nor a near copy.
    const json near_copy = admitted(post(testing::reencoded(photo, 0.9, 70), stranger));
    EXPECT_EQ(near_copy["dedupe"]["of"], other_tenant["job_id"]);  // its own, not acme's

    std::string loner_id;
    const std::string loner = other_account("d", "", &loner_id);
    const json alone = admitted(post(photo, loner));
    EXPECT_FALSE(alone.contains("dedupe")) << alone;
    EXPECT_EQ(alone["tokens"], 10);
}

class DedupeWindowTest : public DedupeFixture {};

TEST_F(DedupeWindowTest, AJobOlderThanTheWindowIsNotADuplicate) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    // Just inside the default 7 days: reused.
    clock_.advance_ms(7 * kDayMs - 1000);
    const json inside = admitted(post(photo));
    EXPECT_EQ(inside["dedupe"]["of"], first["job_id"]);
    EXPECT_EQ(inside["tokens"], 0);
    // Past it: a new job, charged, not even near (the window bounds both).
    clock_.advance_ms(2000);
    const json outside = admitted(post(photo));
    EXPECT_FALSE(outside.contains("dedupe")) << outside;
    EXPECT_EQ(outside["tokens"], 10);
    wait_final(outside["job_id"]);
    EXPECT_EQ(balance().captured, core::Tokens(20));
    // The new job starts a new window.
    const json next = admitted(post(photo));
    EXPECT_EQ(next["dedupe"]["of"], outside["job_id"]);
}

class DedupeShortWindowTest : public DedupeFixture {
  protected:
    DedupeShortWindowTest() { dedupe_.window_s = 60; }
};

TEST_F(DedupeShortWindowTest, TheWindowIsConfigurable) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    clock_.advance_ms(60'000);
    EXPECT_EQ(admitted(post(photo))["dedupe"]["of"], first["job_id"]);
    clock_.advance_ms(1);
    EXPECT_FALSE(admitted(post(photo)).contains("dedupe"));
}

}  // namespace
}  // namespace tollgate::http
