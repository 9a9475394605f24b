// The gateway fixture with duplicate detection on, as configured by default
// ([dedupe] left out), plus helpers to post jobs as any account and to read
// what the ledger and the usage sink recorded. Shared by the dedupe tests.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http_api/fixture.h"
#include "support/photos.h"

namespace tollgate::http::testing_support {

class DedupeFixture : public GatewayFixture {
  protected:
    // The documented defaults; a test changes them in its constructor.
    DedupeFixture() { dedupe_ = jobs::DedupeSettings{}; }

    void SetUp() override {
        GatewayFixture::SetUp();
        ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
        key_ = ledger_->create_api_key(account_).value();
    }

    // Another account with `tokens` and optionally a tenant; returns its API key.
    std::string other_account(const std::string& name, const std::string& tenant,
                              std::string* account_id = nullptr) {
        const std::string id = ledger_->create_account(name).value();
        EXPECT_TRUE(ledger_->grant(id, core::Tokens(100), "").ok());
        if (!tenant.empty()) {
            EXPECT_TRUE(ledger_->set_tenant(id, tenant).value());
        }
        if (account_id != nullptr) *account_id = id;
        return ledger_->create_api_key(id).value();
    }

    // POST /v1/jobs with `image` as `key`'s account.
    Response post(const std::string& image, const std::string& key = "",
                  const std::string& query = "workflow=person") {
        return call("POST", "/v1/jobs", image, key.empty() ? key_ : key, query);
    }
    // The 202 body of an admitted job; fails the test otherwise.
    nlohmann::json admitted(const Response& r) {
        EXPECT_EQ(r.status, 202) << r.body;
        return r.status == 202 ? nlohmann::json::parse(r.body) : nlohmann::json::object();
    }
    nlohmann::json get_job(const std::string& job_id, const std::string& key = "") {
        Response r = call("GET", "/v1/jobs/" + job_id, "", key.empty() ? key_ : key);
        EXPECT_EQ(r.status, 200) << r.body;
        return nlohmann::json::parse(r.body);
    }
    std::string result_of(const std::string& job_id, const std::string& key = "") {
        Response r = call("GET", "/v1/jobs/" + job_id + "/result", "", key.empty() ? key_ : key);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.body;
    }
    // How many ledger entries of `kind` the account has.
    long entries_of(const std::string& kind, const std::string& account = "") {
        auto entries = ledger_->entries(account.empty() ? account_ : account).value();
        return std::count_if(entries.begin(), entries.end(),
                             [&](const ledger::Entry& e) { return e.kind == kind; });
    }
    usage::UsageRecord usage_of(const std::string& job_id) {
        auto found = usage_->find(job_id);
        EXPECT_TRUE(found.ok() && found->has_value()) << job_id;
        return found.ok() && found->has_value() ? **found : usage::UsageRecord{};
    }
    std::size_t runs() {
        std::lock_guard lock(mu_);
        return ran_.size();
    }

    std::string key_;
};

}  // namespace tollgate::http::testing_support
