// Accounts' tenants and stored subscriptions.
#include <gtest/gtest.h>

#include <string>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using AccountsTest = LedgerTest;

TEST_P(AccountsTest, TenantCanBeSetReadAndCleared) {
    auto info = ledger_->account(account_).value();
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->id, account_);
    EXPECT_EQ(info->name, "alice");
    EXPECT_EQ(info->tenant, "");
    EXPECT_EQ(info->created_ms, kT);

    EXPECT_TRUE(ledger_->set_tenant(account_, "acme").value());
    EXPECT_EQ(ledger_->account(account_).value()->tenant, "acme");
    EXPECT_TRUE(ledger_->set_tenant(account_, "").value());
    EXPECT_EQ(ledger_->account(account_).value()->tenant, "");

    EXPECT_FALSE(ledger_->set_tenant("acct_missing", "acme").value());
    EXPECT_FALSE(ledger_->account("acct_missing").value().has_value());
    auto too_long = ledger_->set_tenant(account_, std::string(kTenantBytesMax + 1, 't'));
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.error().code, "invalid_tenant");
}

TEST_P(AccountsTest, SubscribeIsIdempotentAndResubscribeReactivates) {
    auto first = ledger_->subscribe(account_, "pro");
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->subscribed_ms, kT);
    EXPECT_FALSE(first->cancelled_ms.has_value());

    clock_.advance_ms(1000);
    auto again = ledger_->subscribe(account_, "pro").value();
    EXPECT_EQ(again.subscribed_ms, kT);  // unchanged

    clock_.advance_ms(1000);
    EXPECT_TRUE(ledger_->unsubscribe(account_, "pro").value());
    EXPECT_FALSE(ledger_->unsubscribe(account_, "pro").value());
    EXPECT_FALSE(ledger_->unsubscribe(account_, "never").value());
    auto subs = ledger_->subscriptions(account_).value();
    ASSERT_EQ(subs.size(), 1u);
    EXPECT_EQ(subs[0].cancelled_ms, std::optional<std::int64_t>(kT + 2000));
    EXPECT_TRUE(ledger_->active_subscriptions().value().empty());

    clock_.advance_ms(1000);
    auto back = ledger_->subscribe(account_, "pro").value();
    EXPECT_EQ(back.subscribed_ms, kT + 3000);
    EXPECT_FALSE(back.cancelled_ms.has_value());
    EXPECT_EQ(ledger_->subscriptions(account_).value().size(), 1u);
}

TEST_P(AccountsTest, ActiveSubscriptionsPageInKeyOrder) {
    std::string bob = ledger_->create_account("bob").value();
    ASSERT_TRUE(ledger_->subscribe(account_, "pro").ok());
    ASSERT_TRUE(ledger_->subscribe(account_, "addon").ok());
    ASSERT_TRUE(ledger_->subscribe(bob, "basic").ok());
    ASSERT_TRUE(ledger_->subscribe(bob, "gone").ok());
    ASSERT_TRUE(ledger_->unsubscribe(bob, "gone").value());

    auto all = ledger_->active_subscriptions().value();
    ASSERT_EQ(all.size(), 3u);
    for (std::size_t i = 1; i < all.size(); ++i) {
        EXPECT_LT(std::make_pair(all[i - 1].account_id, all[i - 1].plan),
                  std::make_pair(all[i].account_id, all[i].plan));
    }
    auto rest = ledger_->active_subscriptions(all[0].account_id, all[0].plan).value();
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_EQ(rest[0].plan, all[1].plan);
    EXPECT_TRUE(ledger_->active_subscriptions(all[2].account_id, all[2].plan).value().empty());
}

TEST_P(AccountsTest, SubscribeRefusesUnknownAccountsAndBadPlans) {
    auto unknown = ledger_->subscribe("acct_missing", "pro");
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, "unknown_account");
    auto empty = ledger_->subscribe(account_, "");
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().code, "invalid_plan");
}

TOLLGATE_LEDGER_BACKENDS(AccountsTest);

}  // namespace
}  // namespace tollgate::ledger
