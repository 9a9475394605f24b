// A job and its state machine.
//
//   admitted -> dispatched -> succeeded   (hold captured)
//            \             \-> failed     (hold voided)
//             \-> failed
//
// A job is created only after its hold is placed, with the quote locked in:
// `tokens` never changes afterwards. succeeded and failed are final.
//
// A job that reuses an earlier one's result (jobs/dedupe.h) has no hold and
// locks 0 tokens: it either succeeds at once with that result, or waits
// dispatched, never sent to a worker, for the earlier job to settle it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::jobs {

enum class JobState { Admitted, Dispatched, Succeeded, Failed };

// What duplicate detection found when the job was admitted: nothing, the
// same bytes, workflow and options (exact), or a perceptually close image
// (near).
enum class DedupeKind { None, Exact, Near };

std::string_view to_string(JobState state);
std::optional<JobState> parse_job_state(std::string_view text);
bool is_final(JobState state);
// Whether the state machine allows `from` -> `to`.
bool can_transition(JobState from, JobState to);

std::string_view to_string(DedupeKind kind);  // "", "exact", "near"
std::optional<DedupeKind> parse_dedupe_kind(std::string_view text);

struct Job {
    std::string id;
    std::string account_id;
    std::string workflow;
    JobState state = JobState::Admitted;
    std::int64_t tokens = 0;  // the locked quote
    std::string book_version;
    std::string quote_json;  // the itemised quote as returned to the client
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::string format;  // jpeg | png | webp
    std::string md5_hex;
    std::string sha256_hex;
    std::string worker;
    std::string prompt_id;
    std::string result_path;  // relative to the data dir, when succeeded
    std::string failure_reason;
    std::int64_t created_ms = 0;
    std::int64_t finished_ms = 0;
    std::string webhook_url;  // where the job's end is POSTed; empty for none
    std::string tenant;       // the account's tenant at admission; empty for none
    // Hex SHA-256 of the image's SHA-256, the workflow and the options that
    // shape the output (jobs/dedupe.h): equal keys mean equal work.
    std::string dedupe_key;
    std::optional<std::uint64_t> phash;  // 64-bit dHash of the image; nullopt: not computed
    DedupeKind dedupe_kind = DedupeKind::None;
    std::string dedupe_of;             // the earlier job it duplicates, when dedupe_kind is set
    std::int64_t dedupe_distance = 0;  // Hamming distance of the hashes (0 for exact)
    // The result is dedupe_of's: nothing was dispatched, held or charged.
    bool dedupe_reused = false;

    // A cancelled job is failed (its hold voided) with a reason "cancelled: ...".
    bool cancelled() const {
        return state == JobState::Failed && failure_reason.starts_with("cancelled");
    }
};

}  // namespace tollgate::jobs
