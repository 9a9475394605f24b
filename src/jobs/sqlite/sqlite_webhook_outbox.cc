#include "jobs/sqlite/sqlite_webhook_outbox.h"

#include "core/assert.h"

namespace tollgate::jobs {
namespace {

// One delivery per job (UNIQUE job_id). The partial index holds only pending
// rows, so finding the due ones never scans the delivered history.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL UNIQUE REFERENCES jobs(id),
  account_id TEXT NOT NULL,
  url TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_ms INTEGER NOT NULL,
  last_status INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  CHECK ((state = 'pending') = (finished_ms = 0))
) STRICT;
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(next_attempt_ms, id)
  WHERE state = 'pending';
)sql";

constexpr const char* kColumns =
    "id, job_id, account_id, url, payload_json, state, attempts, next_attempt_ms, last_status, "
    "last_error, created_ms, finished_ms";

WebhookDelivery read_delivery(const store::Statement& st) {
    WebhookDelivery d;
    d.id = st.column_int64(0);
    d.job_id = st.column_text(1);
    d.account_id = st.column_text(2);
    d.url = st.column_text(3);
    d.payload_json = st.column_text(4);
    auto state = parse_delivery_state(st.column_text(5));
    TOLLGATE_ASSERT(state.has_value());  // the CHECK constraint guarantees it
    d.state = *state;
    d.attempts = static_cast<int>(st.column_int64(6));
    d.next_attempt_ms = st.column_int64(7);
    d.last_status = static_cast<int>(st.column_int64(8));
    d.last_error = st.column_text(9);
    d.created_ms = st.column_int64(10);
    d.finished_ms = st.column_int64(11);
    return d;
}

}  // namespace

std::string_view to_string(DeliveryState state) {
    switch (state) {
        case DeliveryState::Pending:
            return "pending";
        case DeliveryState::Delivered:
            return "delivered";
        case DeliveryState::Failed:
            return "failed";
    }
    TOLLGATE_ASSERT(false);
    return "";
}

std::optional<DeliveryState> parse_delivery_state(std::string_view text) {
    if (text == "pending") return DeliveryState::Pending;
    if (text == "delivered") return DeliveryState::Delivered;
    if (text == "failed") return DeliveryState::Failed;
    return std::nullopt;
}

core::Result<std::unique_ptr<SqliteWebhookOutbox>> SqliteWebhookOutbox::open(store::Database& db) {
    core::Status s = db.exec(kSchema);
    if (!s.ok()) return s.error();
    return std::unique_ptr<SqliteWebhookOutbox>(new SqliteWebhookOutbox(db));
}

core::Status SqliteWebhookOutbox::enqueue(const WebhookDelivery& d) {
    TOLLGATE_ASSERT(d.state == DeliveryState::Pending && d.attempts == 0 && !d.url.empty());
    return store::transact(db_, [&]() -> core::Status {
        store::Statement exists(db_, "SELECT 1 FROM webhook_deliveries WHERE job_id = ?1");
        if (exists.bind(1, d.job_id).step()) {
            return core::make_error("webhook_exists", "job " + d.job_id + " has a delivery");
        }
        store::Statement(db_,
                         "INSERT INTO webhook_deliveries(job_id, account_id, url, payload_json, "
                         "state, next_attempt_ms, created_ms) "
                         "VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)")
            .bind(1, d.job_id)
            .bind(2, d.account_id)
            .bind(3, d.url)
            .bind(4, d.payload_json)
            .bind(5, d.next_attempt_ms)
            .bind(6, d.created_ms)
            .run();
        return {};
    });
}

core::Result<std::vector<WebhookDelivery>> SqliteWebhookOutbox::due(std::int64_t now_ms,
                                                                    std::size_t limit) {
    std::vector<WebhookDelivery> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kColumns +
                                     " FROM webhook_deliveries WHERE state = 'pending' AND "
                                     "next_attempt_ms <= ?1 ORDER BY next_attempt_ms, id "
                                     "LIMIT ?2");
        st.bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
        while (st.step()) out.push_back(read_delivery(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::optional<std::int64_t>> SqliteWebhookOutbox::next_due_ms() {
    std::optional<std::int64_t> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT min(next_attempt_ms) FROM webhook_deliveries "
                            "WHERE state = 'pending'");
        if (st.step() && !st.column_is_null(0)) out = st.column_int64(0);
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Status SqliteWebhookOutbox::record_attempt(const DeliveryAttempt& a) {
    const bool final = a.state_after != DeliveryState::Pending;
    TOLLGATE_ASSERT(a.at_ms > 0);
    return store::transact(db_, [&]() -> core::Status {
        store::Statement cur(db_, "SELECT state FROM webhook_deliveries WHERE id = ?1");
        if (!cur.bind(1, a.delivery_id).step() || cur.column_text(0) != "pending") {
            return core::make_error(
                "webhook_not_pending",
                "delivery " + std::to_string(a.delivery_id) + " is unknown or already final");
        }
        store::Statement(db_,
                         "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?1, "
                         "next_attempt_ms = ?2, last_status = ?3, last_error = ?4, "
                         "finished_ms = ?5 WHERE id = ?6")
            .bind(1, to_string(a.state_after))
            .bind(2, final ? a.at_ms : a.next_attempt_ms)
            .bind(3, static_cast<std::int64_t>(a.status))
            .bind(4, a.error)
            .bind(5, final ? a.at_ms : 0)
            .bind(6, a.delivery_id)
            .run();
        return {};
    });
}

core::Result<std::optional<WebhookDelivery>> SqliteWebhookOutbox::for_job(
    const std::string& job_id) {
    std::optional<WebhookDelivery> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(
            db_, std::string("SELECT ") + kColumns + " FROM webhook_deliveries WHERE job_id = ?1");
        if (st.bind(1, job_id).step()) out = read_delivery(st);
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

}  // namespace tollgate::jobs
