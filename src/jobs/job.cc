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

std::string_view to_string(DedupeKind kind) {
    switch (kind) {
        case DedupeKind::None:
            return "";
        case DedupeKind::Exact:
            return "exact";
        case DedupeKind::Near:
            return "near";
    }
    return "";
}

std::optional<DedupeKind> parse_dedupe_kind(std::string_view text) {
    for (DedupeKind k : {DedupeKind::None, DedupeKind::Exact, DedupeKind::Near}) {
        if (to_string(k) == text) return k;
    }
    return std::nullopt;
}

}  // namespace tollgate::jobs
