// API keys: a secret shown once, a public id, scopes, an optional expiry,
// revocation, and the per-account cap. (That SQLite stores only the secret's
// SHA-256: sqlite_storage_test.cc.)
#include <gtest/gtest.h>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using KeysTest = LedgerTest;

constexpr std::int64_t kHourMs = 3'600'000;

KeyScopes only(KeyScope scope) {
    KeyScopes scopes;
    scopes.add(scope);
    return scopes;
}

TEST(KeyScopesTest, TextRoundTripsAndUnknownWordsAreRefused) {
    EXPECT_EQ(KeyScopes::all().to_string(), "jobs read");
    EXPECT_EQ(only(KeyScope::Read).to_string(), "read");
    EXPECT_EQ(KeyScopes().to_string(), "");
    EXPECT_EQ(KeyScopes::parse("read jobs"), KeyScopes::all());
    EXPECT_EQ(KeyScopes::parse(" jobs  jobs "), only(KeyScope::Jobs));
    EXPECT_EQ(KeyScopes::parse(""), KeyScopes());
    EXPECT_FALSE(KeyScopes::parse("jobs admin").has_value());
    EXPECT_FALSE(KeyScopes::parse("Jobs").has_value());
}

TEST_P(KeysTest, TheSecretIsReturnedOnceWithAPublicId) {
    NewApiKey key = ledger_->create_api_key(ApiKeySpec{account_, KeyScopes::all(), {}}).value();
    EXPECT_EQ(key.secret.size(), 3u + 64u);  // "tg_" + 32 random bytes in hex
    EXPECT_EQ(key.secret.rfind("tg_", 0), 0u);
    EXPECT_EQ(key.id.rfind("key_", 0), 0u);
    EXPECT_EQ(key.created_ms, kStartMs);
    NewApiKey other = ledger_->create_api_key(ApiKeySpec{account_, KeyScopes::all(), {}}).value();
    EXPECT_NE(other.secret, key.secret);
    EXPECT_NE(other.id, key.id);
}

TEST_P(KeysTest, AKeyCarriesItsScopesAndExpiresAtItsExpiry) {
    ApiKeySpec spec{account_, only(KeyScope::Read), kStartMs + kHourMs};
    NewApiKey key = ledger_->create_api_key(spec).value();
    std::optional<ApiKeyInfo> found = ledger_->find_api_key(key.secret).value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, key.id);
    EXPECT_EQ(found->account_id, account_);
    EXPECT_EQ(found->scopes, only(KeyScope::Read));
    EXPECT_EQ(found->expires_ms, std::optional<std::int64_t>(kStartMs + kHourMs));
    EXPECT_FALSE(found->revoked_ms.has_value());
    EXPECT_EQ(found->state_at(kStartMs), ApiKeyState::Active);
    EXPECT_EQ(ledger_->find_account_by_key(key.secret).value(),
              std::optional<std::string>(account_));

    clock_.advance_ms(kHourMs - 1);
    EXPECT_EQ(ledger_->find_account_by_key(key.secret).value(),
              std::optional<std::string>(account_));
    clock_.advance_ms(1);
    EXPECT_EQ(found->state_at(clock_.now_ms()), ApiKeyState::Expired);
    EXPECT_FALSE(ledger_->find_account_by_key(key.secret)->has_value());
    // Still found, so the caller can say it expired.
    EXPECT_TRUE(ledger_->find_api_key(key.secret)->has_value());
    EXPECT_FALSE(ledger_->find_api_key(key.secret + "0")->has_value());
}

TEST_P(KeysTest, RevokingIsIdempotentAndOnlyByTheOwningAccount) {
    NewApiKey key = ledger_->create_api_key(ApiKeySpec{account_, KeyScopes::all(), {}}).value();
    const std::string bob = ledger_->create_account("bob").value();
    EXPECT_EQ(ledger_->revoke_api_key(bob, key.id)->outcome, RevokeOutcome::UnknownKey);
    EXPECT_EQ(ledger_->revoke_api_key(account_, "key_nope")->outcome, RevokeOutcome::UnknownKey);
    EXPECT_TRUE(ledger_->find_account_by_key(key.secret)->has_value());

    clock_.advance_ms(5);
    RevokeResult first = ledger_->revoke_api_key(account_, key.id).value();
    EXPECT_EQ(first.outcome, RevokeOutcome::Revoked);
    EXPECT_EQ(first.revoked_ms, kStartMs + 5);
    clock_.advance_ms(5);
    RevokeResult again = ledger_->revoke_api_key(account_, key.id).value();
    EXPECT_EQ(again.outcome, RevokeOutcome::AlreadyRevoked);
    EXPECT_EQ(again.revoked_ms, kStartMs + 5);

    EXPECT_FALSE(ledger_->find_account_by_key(key.secret)->has_value());
    std::optional<ApiKeyInfo> found = ledger_->find_api_key(key.secret).value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->state_at(clock_.now_ms()), ApiKeyState::Revoked);
    // Revocation survives a reopen.
    open();
    EXPECT_FALSE(ledger_->find_account_by_key(key.secret)->has_value());
}

TEST_P(KeysTest, TheListingIsNewestFirstWithStates) {
    NewApiKey a = ledger_->create_api_key(ApiKeySpec{account_, KeyScopes::all(), {}}).value();
    clock_.advance_ms(10);
    NewApiKey b =
        ledger_->create_api_key(ApiKeySpec{account_, only(KeyScope::Jobs), kStartMs + kHourMs})
            .value();
    ASSERT_TRUE(ledger_->revoke_api_key(account_, a.id).ok());
    const std::string bob = ledger_->create_account("bob").value();
    ASSERT_TRUE(ledger_->create_api_key(bob).ok());

    std::vector<ApiKeyInfo> keys = ledger_->api_keys(account_).value();
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].id, b.id);
    EXPECT_EQ(keys[0].scopes, only(KeyScope::Jobs));
    EXPECT_EQ(keys[0].created_ms, kStartMs + 10);
    EXPECT_EQ(keys[0].expires_ms, std::optional<std::int64_t>(kStartMs + kHourMs));
    EXPECT_FALSE(keys[0].revoked_ms.has_value());
    EXPECT_EQ(keys[1].id, a.id);
    EXPECT_EQ(keys[1].revoked_ms, std::optional<std::int64_t>(kStartMs + 10));
    EXPECT_EQ(ledger_->api_keys("acct_missing").error().code, "unknown_account");
    EXPECT_TRUE(ledger_->api_keys(bob)->size() == 1u);
}

TEST_P(KeysTest, BadSpecsAreRefused) {
    EXPECT_EQ(ledger_->create_api_key(ApiKeySpec{account_, KeyScopes(), {}}).error().code,
              "invalid_scopes");
    EXPECT_EQ(
        ledger_->create_api_key(ApiKeySpec{account_, KeyScopes::all(), kStartMs}).error().code,
        "invalid_expiry");
    EXPECT_EQ(
        ledger_->create_api_key(ApiKeySpec{"acct_missing", KeyScopes::all(), {}}).error().code,
        "unknown_account");
    EXPECT_TRUE(ledger_->api_keys(account_)->empty());
}

TEST_P(KeysTest, AnAccountHoldsAtMostTheCapOfActiveKeys) {
    std::vector<NewApiKey> keys;
    for (std::int64_t i = 0; i < kApiKeysPerAccountMax; ++i) {
        auto key = ledger_->create_api_key(ApiKeySpec{
            account_, KeyScopes::all(), i == 0 ? std::optional(kStartMs + 1) : std::nullopt});
        ASSERT_TRUE(key.ok()) << key.error().message;
        keys.push_back(*key);
    }
    EXPECT_EQ(ledger_->create_api_key(account_).error().code, "too_many_keys");
    // A revoked key, or an expired one, no longer counts.
    ASSERT_TRUE(ledger_->revoke_api_key(account_, keys[1].id).ok());
    EXPECT_TRUE(ledger_->create_api_key(account_).ok());
    EXPECT_EQ(ledger_->create_api_key(account_).error().code, "too_many_keys");
    clock_.advance_ms(1);
    EXPECT_TRUE(ledger_->create_api_key(account_).ok());
    EXPECT_EQ(ledger_->create_api_key(account_).error().code, "too_many_keys");
}

TOLLGATE_LEDGER_BACKENDS(KeysTest);

}  // namespace
}  // namespace tollgate::ledger
