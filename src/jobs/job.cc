#include "jobs/job.h"

namespace tollgate::jobs {

std::string_view to_string(JobState state) {
    switch (state) {
        case JobState::Admitted:
            return "admitted";
        case JobState::Dispatched:
            return "dispatched";
        case JobState::Succeeded:
            return "succeeded";
        case JobState::Failed:
            return "failed";
    }
    return "unknown";
}

std::optional<JobState> parse_job_state(std::string_view text) {
    for (JobState s :
         {JobState::Admitted, JobState::Dispatched, JobState::Succeeded, JobState::Failed}) {
        if (to_string(s) == text) return s;
    }
    return std::nullopt;
}

bool is_final(JobState state) { return state == JobState::Succeeded || state == JobState::Failed; }

bool can_transition(JobState from, JobState to) {
    switch (from) {
        case JobState::Admitted:
            return to == JobState::Dispatched || to == JobState::Failed;
        case JobState::Dispatched:
            return to == JobState::Succeeded || to == JobState::Failed;
        case JobState::Succeeded:
        case JobState::Failed:
            return false;
    }
    return false;
}

}  // namespace tollgate::jobs
