// Usage records in the shared SQLite file (table `usage_records`). Joins an
// open transaction, so the record commits with the job's capture or void.
#pragma once

#include <memory>

#include "store/sqlite.h"
#include "usage/usage_sink.h"

namespace tollgate::usage {

class SqliteUsageSink final : public UsageSink {
  public:
    static core::Result<std::unique_ptr<SqliteUsageSink>> open(store::Database& db);
    core::Status write(const UsageRecord& record) override;
    core::Result<std::optional<UsageRecord>> find(const std::string& job_id) override;
    core::Result<std::vector<UsageRecord>> for_account(const std::string& account_id) override;
    core::Result<std::int64_t> execution_ms_since(const std::string& account_id,
                                                  std::int64_t since_ms) override;

  private:
    explicit SqliteUsageSink(store::Database& db) : db_(db) {}
    store::Database& db_;
};

}  // namespace tollgate::usage
