// Plans, tenants, fair use and the billing instant, through JobService with
// real stores: what an account is charged and when it is refused.
#include <gtest/gtest.h>

#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using testing_support::utc_ms;

class PlansTest : public testing_support::GatewayFixture {};

TEST_F(PlansTest, QuoteIsLockedAtAdmissionWhateverTheClockDoesBeforeCapture) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
    clock_.set_ms(utc_ms(2026, 11, 28, 18, 59, 59));  // one second before peak
    block();
    auto r = submit();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    EXPECT_EQ(r->priced.quote.tokens, core::Tokens(10));  // 10.96 floored, no window
    EXPECT_EQ(r->priced.quote.window, nullptr);
    clock_.set_ms(utc_ms(2026, 11, 28, 19, 0, 0));  // peak starts while the job waits
    release();
    jobs::Job job = wait_final(r->job_id);
    EXPECT_EQ(job.state, jobs::JobState::Succeeded);
    EXPECT_EQ(balance().captured, core::Tokens(10));

    // A job admitted at 19:00:00 sharp is priced in the window: 10.96 x 1.5 = 16.44.
    auto peak = submit();
    ASSERT_TRUE(peak.ok());
    EXPECT_EQ(peak->priced.quote.tokens, core::Tokens(16));
    ASSERT_NE(peak->priced.quote.window, nullptr);
    EXPECT_EQ(peak->priced.quote.window->name, "peak");
    wait_final(peak->job_id);
    EXPECT_EQ(balance().captured, core::Tokens(26));
}

TEST_F(PlansTest, ReloadWhileAJobIsQueuedNeverChangesItsCharge) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
    block();
    auto r = submit();
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    book_text_ = std::string(testing_support::kTestBook);
    book_text_.replace(book_text_.find("version = \"t1\""), 14, "version = \"t2\"");
    book_text_.replace(book_text_.find("base = 10"), 9, "base = 40");
    auto reloaded = books_->reload();
    ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
    EXPECT_EQ((*reloaded)->version, "t2");
    release();
    jobs::Job job = wait_final(r->job_id);
    EXPECT_EQ(job.book_version, "t1");
    EXPECT_EQ(balance().captured, core::Tokens(10));
    // The hold, the job and the usage record all carry the version the quote came from.
    bool hold_named_version = false;
    const auto entries = ledger_->entries(account_).value();
    for (const ledger::Entry& e : entries) {
        if (e.kind == "hold" && e.hold_key == job.id) {
            hold_named_version = e.reason == "quote under price book t1";
        }
    }
    EXPECT_TRUE(hold_named_version);
    EXPECT_EQ(usage_->find(job.id).value()->book_version, "t1");
    auto after = service_->price(account_, {"person", "", "", ""}, testing_support::png(800, 600));
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->quote.tokens, core::Tokens(40));
    EXPECT_EQ(after->quote.book_version, "t2");
}

TEST_F(PlansTest, BrokenBookIsRefusedAndTheOldOneStays) {
    book_text_ = "version = \"t3\"\nrounding = \"sideways\"\n";
    auto reloaded = books_->reload();
    ASSERT_FALSE(reloaded.ok());
    EXPECT_EQ(reloaded.error().code, "invalid_price_book");
    EXPECT_NE(reloaded.error().message.find("book.toml:2"), std::string::npos)
        << reloaded.error().message;
    EXPECT_EQ(books_->current()->version, "t1");
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
    auto r = submit();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->priced.quote.book_version, "t1");
}

TEST_F(PlansTest, MonthlyPlanGrantsEachCalendarMonthAndExpiresAtItsEnd) {
    auto sub = plans_->subscribe(account_, *books_->current(), "monthly");
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    EXPECT_EQ(balance().available(), core::Tokens(100));
    // Subscribing again, or renewing, adds nothing in the same month.
    ASSERT_TRUE(plans_->subscribe(account_, *books_->current(), "monthly").ok());
    EXPECT_EQ(plans_->renew(account_, *books_->current()).value(), 0);
    EXPECT_EQ(balance().available(), core::Tokens(100));

    auto r = submit();
    ASSERT_TRUE(r.ok());
    wait_final(r->job_id);
    EXPECT_EQ(balance().available(), core::Tokens(90));

    // The last millisecond of November still spends November's grant.
    clock_.set_ms(utc_ms(2026, 12, 1, 0, 0, 0) - 1);
    EXPECT_EQ(plans_->renew(account_, *books_->current()).value(), 0);
    EXPECT_EQ(balance().available(), core::Tokens(90));
    // At midnight November's 90 expire and December's 100 arrive, once.
    clock_.set_ms(utc_ms(2026, 12, 1, 0, 0, 0));
    EXPECT_EQ(plans_->renew(account_, *books_->current()).value(), 1);
    EXPECT_EQ(plans_->renew_all(*books_->current()).value(), 0);
    ledger::Balance b = balance();
    EXPECT_EQ(b.available(), core::Tokens(100));
    EXPECT_EQ(b.expired, core::Tokens(90));
    EXPECT_EQ(b.granted, b.available() + b.held + b.captured + b.expired);
}

// A book that changes a plan's tokens mid-period keeps the period's grant as
// it was and grants the new amount from the next period on; renewals and the
// subscriber's jobs go on working in between.
TEST_F(PlansTest, NewPlanTokensApplyFromTheNextPeriod) {
    ASSERT_TRUE(plans_->subscribe(account_, *books_->current(), "monthly").ok());
    EXPECT_EQ(balance().available(), core::Tokens(100));
    book_text_ = std::string(testing_support::kTestBook);
    book_text_.replace(book_text_.find("version = \"t1\""), 14, "version = \"t2\"");
    book_text_.replace(book_text_.find("tokens = 100\nprice = \"9.99\""), 12, "tokens = 150");
    auto reloaded = books_->reload();
    ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
    ASSERT_EQ((*reloaded)->find_plan("monthly")->tokens, 150);

    auto renewed = plans_->renew(account_, *books_->current());
    ASSERT_TRUE(renewed.ok()) << renewed.error().message;
    EXPECT_EQ(*renewed, 0);
    EXPECT_EQ(plans_->renew_all(*books_->current()).value(), 0);
    auto r = submit();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    wait_final(r->job_id);
    EXPECT_EQ(balance().available(), core::Tokens(90));

    clock_.set_ms(utc_ms(2026, 12, 1, 0, 0, 0));
    EXPECT_EQ(plans_->renew_all(*books_->current()).value(), 1);
    EXPECT_EQ(balance().available(), core::Tokens(150));
}

TEST_F(PlansTest, RolloverCarriesAtMostTheCapIntoTheNextPeriodOnce) {
    ASSERT_TRUE(plans_->subscribe(account_, *books_->current(), "rolling").ok());
    auto r = submit();
    ASSERT_TRUE(r.ok());
    wait_final(r->job_id);
    EXPECT_EQ(balance().available(), core::Tokens(90));

    // December: 30 of November's 90 roll over (the cap), 60 expire, 100 arrive.
    clock_.set_ms(utc_ms(2026, 12, 1, 0, 0, 0));
    EXPECT_EQ(plans_->renew(account_, *books_->current()).value(), 1);
    ledger::Balance b = balance();
    EXPECT_EQ(b.available(), core::Tokens(130));
    EXPECT_EQ(b.expired, core::Tokens(60));

    // January: the rolled-over 30 expire with December (they roll once), and 30 of
    // December's unused 100 roll into January.
    clock_.set_ms(utc_ms(2027, 1, 1, 0, 0, 0));
    EXPECT_EQ(plans_->renew(account_, *books_->current()).value(), 1);
    b = balance();
    EXPECT_EQ(b.available(), core::Tokens(130));
    EXPECT_EQ(b.expired, core::Tokens(60 + 30 + 70));
    EXPECT_EQ(b.granted, b.available() + b.held + b.captured + b.expired);
    std::int64_t checked = 0;
    EXPECT_TRUE(ledger_->verify(&checked).value().empty());
}

TEST_F(PlansTest, PostpaidTenantMayGoDownToItsCreditLimitAndNoFurther) {
    ASSERT_TRUE(ledger_->set_tenant(account_, "acme").value());
    for (int i = 0; i < 3; ++i) {
        auto r = submit();
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(r->outcome, SubmitOutcome::Accepted) << "job " << i;
        wait_final(r->job_id);
    }
    EXPECT_EQ(balance().available(), core::Tokens(-30));
    auto refused = submit();
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->outcome, SubmitOutcome::InsufficientBalance);
    EXPECT_EQ(balance().available(), core::Tokens(-30));
    EXPECT_EQ(balance().held, core::Tokens(0));
}

TEST_F(PlansTest, TenantDiscountAndMinimumApplyToItsAccounts) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
    ASSERT_TRUE(ledger_->set_tenant(account_, "half").value());
    auto r = submit();  // 10.96 x 50% = 5.48 -> 5, above the tenant's own minimum of 3
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->priced.quote.tokens, core::Tokens(5));
    ASSERT_NE(r->priced.quote.tenant, nullptr);
    EXPECT_EQ(r->priced.quote.tenant->name, "half");
    wait_final(r->job_id);
    EXPECT_EQ(balance().captured, core::Tokens(5));
}

TEST_F(PlansTest, UnlimitedPlanIsLimitedOnlyByFairUse) {
    ASSERT_TRUE(plans_->subscribe(account_, *books_->current(), "vip").ok());
    for (int i = 0; i < 2; ++i) {
        auto r = submit();
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
        wait_final(r->job_id);
    }
    // Two requests this minute: the third is refused, with the wait until the first ages out.
    clock_.advance_ms(20'000);
    auto third = submit();
    ASSERT_TRUE(third.ok());
    EXPECT_EQ(third->outcome, SubmitOutcome::FairUseExceeded);
    EXPECT_EQ(third->fair_use.limit, "requests_per_minute");
    EXPECT_EQ(third->fair_use.retry_after_s, 40);
    EXPECT_EQ(balance().held, core::Tokens(0));
    clock_.advance_ms(40'000);
    auto later = submit();
    ASSERT_TRUE(later.ok());
    EXPECT_EQ(later->outcome, SubmitOutcome::Accepted);
    wait_final(later->job_id);
    // Nothing was ever refused for balance; the usage is still counted.
    EXPECT_EQ(balance().captured, core::Tokens(30));
}

TEST_F(PlansTest, FairUseCanDeprioritizeInsteadOfRefusing) {
    ASSERT_TRUE(plans_->subscribe(account_, *books_->current(), "vipslow").ok());
    block();
    auto first = submit();
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first->outcome, SubmitOutcome::Accepted);
    EXPECT_FALSE(first->deprioritized);
    wait_running(1);
    auto second = submit();  // one job unfinished already: over concurrent_jobs = 1
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second->outcome, SubmitOutcome::Accepted);
    EXPECT_TRUE(second->deprioritized);
    EXPECT_EQ(second->fair_use.limit, "concurrent_jobs");
    release();
    EXPECT_EQ(wait_final(first->job_id).state, jobs::JobState::Succeeded);
    EXPECT_EQ(wait_final(second->job_id).state, jobs::JobState::Succeeded);
}

TEST(FairUseTest, DecisionNamesTheFirstLimitReachedAndWhenToRetry) {
    pricing::FairUse rules;
    rules.requests_per_minute = 10;
    rules.concurrent_jobs = 2;
    rules.gpu_seconds_per_day = 100;
    rules.over_limit = pricing::OverLimit::Reject;
    const std::int64_t now = 1'000'000;
    FairUseCounters used;
    EXPECT_EQ(decide_fair_use(rules, used, now).verdict, FairUseVerdict::Allow);
    used.requests_last_minute = 9;
    used.unfinished_jobs = 1;
    used.gpu_ms_today = 99'999;
    EXPECT_EQ(decide_fair_use(rules, used, now).verdict, FairUseVerdict::Allow);
    used.gpu_ms_today = 100'000;
    used.day_end_ms = now + 3'600'500;
    FairUseDecision d = decide_fair_use(rules, used, now);
    EXPECT_EQ(d.verdict, FairUseVerdict::Reject);
    EXPECT_EQ(d.limit, "gpu_seconds_per_day");
    EXPECT_EQ(d.retry_after_s, 3601);
    used.unfinished_jobs = 2;
    EXPECT_EQ(decide_fair_use(rules, used, now).limit, "concurrent_jobs");
    used.requests_last_minute = 10;
    used.oldest_request_ms = now - 59'000;
    d = decide_fair_use(rules, used, now);
    EXPECT_EQ(d.limit, "requests_per_minute");
    EXPECT_EQ(d.retry_after_s, 1);
    rules.over_limit = pricing::OverLimit::Deprioritize;
    d = decide_fair_use(rules, used, now);
    EXPECT_EQ(d.verdict, FairUseVerdict::Deprioritize);
    EXPECT_EQ(d.retry_after_s, 0);
    EXPECT_EQ(decide_fair_use(pricing::FairUse{}, used, now).verdict, FairUseVerdict::Allow);
}

TEST(FairUseTest, LocalDayFollowsTheZoneAcrossDaylightSaving) {
    auto paris = core::TimeZone::load("Europe/Paris");
    ASSERT_TRUE(paris.ok()) << paris.error().message;
    // 2026-03-29 is 23 hours long in Paris: midnight +01:00 to midnight +02:00.
    auto [start, end] = local_day(*paris, utc_ms(2026, 3, 29, 12, 0));
    EXPECT_EQ(start, utc_ms(2026, 3, 28, 23, 0));
    EXPECT_EQ(end, utc_ms(2026, 3, 29, 22, 0));
    auto [s2, e2] = local_day(*paris, utc_ms(2026, 10, 25, 12, 0));  // 25 hours long
    EXPECT_EQ(e2 - s2, 25 * 3'600'000);
}

}  // namespace
}  // namespace tollgate::http
