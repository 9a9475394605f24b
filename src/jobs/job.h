// A job and its state machine.
//
//   admitted -> dispatched -> succeeded   (hold captured)
//            \             \-> failed     (hold voided)
//             \-> failed
//
// A job is created only after its hold is placed, with the quote locked in:
// `tokens` never changes afterwards. succeeded and failed are final.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::jobs {

enum class JobState { Admitted, Dispatched, Succeeded, Failed };

std::string_view to_string(JobState state);
std::optional<JobState> parse_job_state(std::string_view text);
bool is_final(JobState state);
// Whether the state machine allows `from` -> `to`.
bool can_transition(JobState from, JobState to);

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

    // A cancelled job is failed (its hold voided) with a reason "cancelled: ...".
    bool cancelled() const {
        return state == JobState::Failed && failure_reason.starts_with("cancelled");
    }
};

}  // namespace tollgate::jobs
