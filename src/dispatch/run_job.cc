// The job is a straight line of blocking calls (upload, watch, queue, wait,
// fetch, clean up) so the control flow reads top to bottom; every call is
// bounded by what is left of the job's deadline. A resumed job is the tail of
// the same line (watch, one look at /queue and /history, wait, fetch, clean
// up) run by the same JobRun, so both paths share every step after queueing
// rather than keeping a second copy that could drift.
//
// Sockets: in the gateway every job of a worker shares that worker's socket
// (WorkerEvents: one client id per gateway instance) and subscribes to its
// prompt id before posting the prompt; without hubs (tests, tools) a job
// opens a socket of its own under the client id "tollgate-<job id>".
//
// Resuming: the subscription (or socket) is opened before the first look,
// because ComfyUI sends a prompt's events to whichever socket has the
// prompt's client id now; anything that happened before is found in /history
// by the first look, and anything after arrives as events. The instance's
// client id survives restarts, so a resumed prompt's events still arrive.
//
// Waiting: the WebSocket is the fast path, but ComfyUI sockets can stall
// silently and events are never replayed, so (a) after kWsQuietMs without an
// event we look at /history anyway, and (b) if the socket fails we switch to
// polling /history, with a /queue check to notice a prompt the worker has
// lost (a restart empties both). ComfyUI moves a prompt from the running
// queue into history atomically, so "not in the queue, then not in history"
// means lost, checked in that order.
//
// Outcome mapping of client errors: before the prompt is posted, anything
// that shows the request never arrived is WorkerUnreachable (safe to retry);
// once a POST /prompt may have reached the worker, ambiguity is TimedOut or
// ProtocolError, never WorkerUnreachable.
#include "dispatch/run_job.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <optional>
#include <thread>

#include "core/ids.h"
#include "core/limits.h"
#include "dispatch/comfy_client.h"
#include "dispatch/prompt_tracker.h"
#include "dispatch/worker_events.h"

namespace tollgate::dispatch {
namespace {

constexpr int kWsQuietMs = 5'000;         // look at /history after this much WS silence
constexpr int kPollIntervalMs = 1'000;    // polling mode, once the WS is gone
constexpr int kPollFailuresMax = 5;       // consecutive failed polls before giving up
constexpr int kCleanupTimeoutMs = 3'000;  // best-effort calls after the deadline
constexpr std::array<int, 5> kHistoryRetryDelaysMs = {0, 100, 250, 500, 1'000};
constexpr std::size_t kJobIdBytesMax = 100;
constexpr std::size_t kPromptIdBytesMax = 100;

// Job ids name files on the worker; prompt ids (UUIDs) go into routes.
bool valid_id(const std::string& id, std::size_t bytes_max) {
    return !id.empty() && id.size() <= bytes_max && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

bool valid_extension(const std::string& ext) {
    return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "webp";
}

std::string reason_of(const core::Error& e) { return e.code + ": " + e.message; }

// The end of every run that queued a prompt: its history entry goes, so the
// worker's history does not grow with our jobs. Best effort, within its own
// short timeout.
void delete_history_quietly(ComfyClient& client, const std::string& prompt_id,
                            const std::string& job_id) {
    client.set_request_timeout_ms(kCleanupTimeoutMs);
    if (auto status = client.delete_history(prompt_id); !status) {
        spdlog::info("job {}: could not delete history entry: {}", job_id,
                     reason_of(status.error()));
    }
}

// Client errors before anything was queued.
JobOutcomeKind kind_before_queue(const core::Error& e) {
    if (e.code == "worker_unreachable" || e.code == "worker_connection_lost") {
        return JobOutcomeKind::WorkerUnreachable;
    }
    if (e.code == "worker_timeout") return JobOutcomeKind::TimedOut;
    return JobOutcomeKind::ProtocolError;
}

class JobRun {
  public:
    JobRun(const JobSpec& spec, const core::Clock& clock, WorkerEventHubs* hubs)
        : spec_(spec),
          clock_(clock),
          hubs_(hubs),
          deadline_us_(
              clock.steady_us() +
              std::int64_t{std::clamp(spec.timeout_ms, 1, core::limits::kJobTimeoutMsMax)} * 1000) {
        outcome_.worker_url = spec.worker_url;
    }

    JobOutcome run();
    JobOutcome resume(const std::string& prompt_id);

  private:
    int remaining_ms() const {
        const std::int64_t left = (deadline_us_ - clock_.steady_us()) / 1000;
        return static_cast<int>(std::clamp<std::int64_t>(left, 0, core::limits::kJobTimeoutMsMax));
    }
    // Bounds the next client call by the request limit and the job deadline.
    void arm() { client_->set_request_timeout_ms(std::max(remaining_ms(), 1)); }

    JobOutcome finish(JobOutcomeKind kind, std::string reason, bool retry_safe = false);
    bool cancel_requested() const { return spec_.cancelled && spec_.cancelled->load(); }
    JobOutcome cancel();
    void report_progress(const ComfyEvent& event) const;
    bool started() const { return tracker_.state() != PromptTracker::State::Waiting || entry_; }
    void open_watch(const std::string& prompt_id);
    bool has_socket() const { return watch_ || subscription_; }
    core::Result<std::optional<ComfyEvent>> next_socket_event(int wait_ms);
    void close_socket();
    void resubscribe();
    std::string client_id() const;
    void adopt(const std::string& prompt_id);
    JobOutcome follow();
    std::optional<JobOutcome> queue(const nlohmann::json& graph, const std::string& proposed_id);
    std::optional<JobOutcome> wait();
    std::optional<JobOutcome> poll(bool check_queue);
    std::optional<JobOutcome> fetch_history();
    JobOutcome collect();
    void remove_from_worker();
    void cleanup();

    const JobSpec& spec_;
    const core::Clock& clock_;
    WorkerEventHubs* const hubs_;  // null: a WebSocket of the job's own
    const std::int64_t deadline_us_;
    JobOutcome outcome_;
    std::optional<ComfyClient> client_;
    std::unique_ptr<PromptWatch> watch_;               // without hubs_
    std::shared_ptr<WorkerEvents> events_;             // with hubs_: the worker's socket
    std::unique_ptr<EventSubscription> subscription_;  // with hubs_: this prompt's events
    PromptTracker tracker_;
    std::optional<HistoryEntry> entry_;  // set once history has the prompt
    std::string prompt_id_;  // the worker's id once queued (outcome_ is moved out by finish())
    std::int64_t posted_ms_ = 0;
    int poll_failures_ = 0;
};

JobOutcome JobRun::finish(JobOutcomeKind kind, std::string reason, bool retry_safe) {
    outcome_.kind = kind;
    outcome_.reason = std::move(reason);
    outcome_.execution_started = started();
    outcome_.retry_safe = kind == JobOutcomeKind::WorkerUnreachable || retry_safe;
    std::int64_t start_ms = tracker_.execution_start_ms();
    std::int64_t end_ms = tracker_.execution_end_ms();
    if (entry_) {
        if (start_ms == 0) start_ms = entry_->execution_start_ms;
        if (end_ms == 0) end_ms = entry_->execution_end_ms;
        outcome_.meter_wall_ms = entry_->meter.wall_ms;
        outcome_.meter_gpu_peak_bytes = entry_->meter.gpu_peak_bytes;
    }
    if (start_ms > 0 && posted_ms_ > 0)
        outcome_.queue_wait_ms = std::max<std::int64_t>(0, start_ms - posted_ms_);
    if (start_ms > 0 && end_ms > 0)
        outcome_.execution_ms = std::max<std::int64_t>(0, end_ms - start_ms);
    if (kind != JobOutcomeKind::Succeeded && kind != JobOutcomeKind::Cancelled) {
        spdlog::warn("job {} on {}: {} ({})", spec_.job_id, spec_.worker_url, to_string(kind),
                     outcome_.reason);
    }
    return std::move(outcome_);
}

JobOutcome JobRun::run() {
    TOLLGATE_ASSERT(spec_.workflow != nullptr);
    if (!valid_id(spec_.job_id, kJobIdBytesMax) || !valid_extension(spec_.image_extension) ||
        spec_.image_bytes.empty()) {
        return finish(JobOutcomeKind::Rejected,
                      "invalid_job_spec: bad job id, image extension or empty image");
    }
    if (cancel_requested()) return cancel();
    auto client = ComfyClient::create(spec_.worker_url);
    if (!client) return finish(JobOutcomeKind::WorkerUnreachable, reason_of(client.error()));
    client_.emplace(std::move(*client));

    const std::string folder = "tollgate/" + spec_.job_id;
    arm();
    auto uploaded = client_->upload_image(spec_.image_bytes,
                                          spec_.job_id + "." + spec_.image_extension, folder);
    // Nothing is queued yet, so a failed upload may be tried on another worker.
    if (!uploaded) {
        return finish(kind_before_queue(uploaded.error()), reason_of(uploaded.error()),
                      /*retry_safe=*/true);
    }
    if (cancel_requested()) return cancel();

    const std::string proposed_id = core::uuid_v4();
    open_watch(proposed_id);
    // Outputs go to a folder of the job's own ("tollgate/<job>/<job>_00001_.png"):
    // ComfyUI lists the folder of a filename_prefix on every save to number
    // the file, so one shared folder would slow every save as it fills.
    const std::string prefix = folder + "/" + spec_.job_id;
    if (auto failed =
            queue(spec_.workflow->fill(uploaded->image_ref(), prefix, spec_.params), proposed_id))
        return *failed;
    if (spec_.on_queued) spec_.on_queued(spec_.worker_url, prompt_id_);
    return follow();
}

JobOutcome JobRun::resume(const std::string& prompt_id) {
    TOLLGATE_ASSERT(spec_.workflow != nullptr);
    if (!valid_id(spec_.job_id, kJobIdBytesMax) || !valid_id(prompt_id, kPromptIdBytesMax)) {
        return finish(JobOutcomeKind::Rejected, "invalid_job_spec: bad job id or prompt id");
    }
    auto client = ComfyClient::create(spec_.worker_url);
    if (!client) return finish(JobOutcomeKind::Rejected, reason_of(client.error()));
    client_.emplace(std::move(*client));
    spdlog::info("job {}: resuming prompt {} on {}", spec_.job_id, prompt_id, spec_.worker_url);

    open_watch(prompt_id);
    adopt(prompt_id);
    // The first look decides between finished, lost and still to wait for;
    // an unanswered look only counts towards kPollFailuresMax, like any poll.
    if (auto failed = poll(/*check_queue=*/true)) {
        cleanup();
        return *failed;
    }
    return follow();
}

// Subscribes to `prompt_id` on the worker's shared WebSocket, or without
// hubs connects a WebSocket of the job's own; without either, wait() polls.
void JobRun::open_watch(const std::string& prompt_id) {
    const int timeout_ms =
        std::min(std::max(remaining_ms(), 1), core::limits::kComfyRequestTimeoutMs);
    if (hubs_ != nullptr) {
        auto events = hubs_->for_worker(spec_.worker_url);
        if (!events) {
            spdlog::warn("job {}: no WebSocket ({}); polling instead", spec_.job_id,
                         reason_of(events.error()));
            return;
        }
        events_ = std::move(*events);
        auto subscription = events_->subscribe(prompt_id, timeout_ms);
        if (subscription) {
            subscription_ = std::move(*subscription);
        } else {
            spdlog::warn("job {}: no WebSocket ({}); polling instead", spec_.job_id,
                         reason_of(subscription.error()));
        }
        return;
    }
    auto watch = PromptWatch::connect(client_->address(), client_id(), timeout_ms);
    if (watch) {
        watch_ = std::move(*watch);
    } else {
        spdlog::warn("job {}: no WebSocket ({}); polling instead", spec_.job_id,
                     reason_of(watch.error()));
    }
}

// The prompt's client_id: the worker's shared socket, or the job's own.
std::string JobRun::client_id() const {
    if (events_) return events_->client_id();
    if (hubs_ != nullptr) return hubs_->client_id();
    return "tollgate-" + spec_.job_id;
}

core::Result<std::optional<ComfyEvent>> JobRun::next_socket_event(int wait_ms) {
    if (subscription_) return subscription_->next_event(wait_ms);
    TOLLGATE_ASSERT(watch_);
    return watch_->next_event(wait_ms);
}

void JobRun::close_socket() {
    watch_.reset();
    subscription_.reset();
}

// While polling: back onto the worker's socket once it is up again. The poll
// that follows catches whatever happened in between.
void JobRun::resubscribe() {
    if (!events_ || prompt_id_.empty() || !events_->connected()) return;
    auto subscription = events_->subscribe(prompt_id_, 0);
    if (subscription) subscription_ = std::move(*subscription);
}

// From here on the run follows `prompt_id` on the worker.
void JobRun::adopt(const std::string& prompt_id) {
    prompt_id_ = prompt_id;
    outcome_.prompt_id = prompt_id;
    tracker_.set_prompt_id(prompt_id);
}

// Waits for the adopted prompt, downloads its output, and deletes its history entry.
JobOutcome JobRun::follow() {
    if (auto failed = wait()) {
        cleanup();
        return *failed;
    }
    JobOutcome result = collect();
    if (spec_.defer_cleanup && result.kind == JobOutcomeKind::Succeeded && client_ &&
        !prompt_id_.empty()) {
        close_socket();
        result.after_settle = [client = *client_, prompt_id = prompt_id_,
                               job_id = spec_.job_id]() mutable {
            delete_history_quietly(client, prompt_id, job_id);
        };
        return result;
    }
    cleanup();
    return result;
}

std::optional<JobOutcome> JobRun::queue(const nlohmann::json& graph,
                                        const std::string& proposed_id) {
    posted_ms_ = clock_.now_ms();
    arm();
    auto queued = client_->queue_prompt(graph, client_id(), proposed_id);
    if (queued) {
        if (queued->prompt_id != proposed_id) {
            spdlog::info("job {}: worker chose prompt id {} (old server)", spec_.job_id,
                         queued->prompt_id);
            if (subscription_) subscription_->rekey(queued->prompt_id);
        }
        if (!queued->node_errors_summary.empty()) {
            spdlog::warn("job {}: queued with node errors: {}", spec_.job_id,
                         queued->node_errors_summary);
        }
        adopt(queued->prompt_id);
        return std::nullopt;
    }
    const core::Error& e = queued.error();
    if (e.code == "prompt_rejected") return finish(JobOutcomeKind::Rejected, reason_of(e));
    if (e.code == "worker_unreachable")
        return finish(JobOutcomeKind::WorkerUnreachable, reason_of(e));
    // The POST may have arrived: remove the prompt if it is still pending (new
    // servers use our id; old ones minted another we never learned).
    client_->set_request_timeout_ms(kCleanupTimeoutMs);
    (void)client_->delete_queued(proposed_id);
    if (e.code == "worker_timeout") return finish(JobOutcomeKind::TimedOut, reason_of(e));
    return finish(JobOutcomeKind::ProtocolError, reason_of(e));
}

// Returns an outcome when waiting ended in failure or by cancellation;
// nullopt when the prompt finished (tracker_ finished, or entry_ found in
// history). Every wait is sliced so that a cancel is noticed within
// kCancelCheckMs.
std::optional<JobOutcome> JobRun::wait() {
    // Real time, like the network waits: the last event or look at /history.
    using RealClock = std::chrono::steady_clock;
    RealClock::time_point last_news = RealClock::now();
    while (!tracker_.finished() && !entry_) {
        if (cancel_requested()) return cancel();
        const int left = remaining_ms();
        if (left <= 0) {
            const char* where = started() ? "running" : "queued";
            remove_from_worker();
            return finish(JobOutcomeKind::TimedOut, "job_timeout: no result within " +
                                                        std::to_string(spec_.timeout_ms) +
                                                        " ms (last seen " + where + ")");
        }
        const int quiet_ms = static_cast<int>(std::min<std::int64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(RealClock::now() - last_news)
                .count(),
            kWsQuietMs));
        if (has_socket()) {
            if (quiet_ms >= kWsQuietMs) {  // a stalled socket? look at /history anyway
                last_news = RealClock::now();
                if (auto failed = poll(/*check_queue=*/false)) return failed;
                continue;
            }
            auto event = next_socket_event(std::min({left, kWsQuietMs - quiet_ms, kCancelCheckMs}));
            if (!event) {
                spdlog::warn("job {}: {}; polling instead", spec_.job_id, reason_of(event.error()));
                close_socket();
                const auto state = tracker_.state();
                if (state == PromptTracker::State::Failed ||
                    state == PromptTracker::State::Interrupted) {
                    return std::nullopt;  // the outcome is known; only "executing null" is missing
                }
                continue;
            }
            if (event->has_value()) {
                tracker_.on_event(**event);
                report_progress(**event);
                last_news = RealClock::now();
            }
        } else if (quiet_ms >= kPollIntervalMs) {
            last_news = RealClock::now();
            resubscribe();
            if (auto failed = poll(/*check_queue=*/true)) return failed;
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(
                std::min({left, kPollIntervalMs - quiet_ms, kCancelCheckMs})));
        }
    }
    return std::nullopt;
}

// Looks at /history (and, when asked, /queue) once; sets entry_ when the prompt is there.
std::optional<JobOutcome> JobRun::poll(bool check_queue) {
    const auto note_failure = [&](const core::Error& e) -> std::optional<JobOutcome> {
        if (++poll_failures_ < kPollFailuresMax) return std::nullopt;
        return finish(JobOutcomeKind::ProtocolError, "worker_lost: " + reason_of(e),
                      /*retry_safe=*/!started());
    };
    bool in_queue = true;
    if (check_queue) {  // queue first: see the file comment for why the order matters
        arm();
        auto queue = client_->get_queue();
        if (!queue) return note_failure(queue.error());
        auto contains = queue_contains(*queue, prompt_id_);
        if (!contains) return note_failure(contains.error());
        in_queue = *contains;
    }
    arm();
    auto history = client_->get_history(prompt_id_);
    if (!history) return note_failure(history.error());
    auto entry = parse_history_entry(*history, prompt_id_);
    if (!entry) return note_failure(entry.error());
    poll_failures_ = 0;
    if (entry->has_value()) {
        entry_ = std::move(*entry);
        return std::nullopt;
    }
    if (!in_queue) {
        return finish(JobOutcomeKind::ProtocolError,
                      "prompt_lost: the worker has prompt " + prompt_id_ +
                          " neither queued nor in history (restarted?)",
                      /*retry_safe=*/!started());
    }
    return std::nullopt;
}

// After "executing null" the entry is normally there; retry briefly if not.
std::optional<JobOutcome> JobRun::fetch_history() {
    core::Error last = core::make_error("history_not_found", "history entry did not appear");
    for (const int delay_ms : kHistoryRetryDelaysMs) {
        if (entry_) return std::nullopt;
        if (remaining_ms() <= delay_ms) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        arm();
        auto history = client_->get_history(prompt_id_);
        if (!history) {
            last = history.error();
            continue;
        }
        auto entry = parse_history_entry(*history, prompt_id_);
        if (!entry) return finish(JobOutcomeKind::ProtocolError, reason_of(entry.error()));
        if (entry->has_value()) entry_ = std::move(*entry);
    }
    if (entry_) return std::nullopt;
    if (remaining_ms() <= 0)
        return finish(JobOutcomeKind::TimedOut, "job_timeout: " + reason_of(last));
    return finish(JobOutcomeKind::ProtocolError, reason_of(last));
}

JobOutcome JobRun::collect() {
    close_socket();
    if (cancel_requested()) return cancel();
    if (tracker_.state() == PromptTracker::State::Failed) {
        return finish(JobOutcomeKind::ExecutionFailed, tracker_.error_message());
    }
    if (tracker_.state() == PromptTracker::State::Interrupted) {
        return finish(JobOutcomeKind::ExecutionFailed, "execution_interrupted");
    }
    if (auto failed = fetch_history()) return *failed;
    if (entry_->status_str == "error") {
        if (entry_->interrupted)
            return finish(JobOutcomeKind::ExecutionFailed, "execution_interrupted");
        return finish(JobOutcomeKind::ExecutionFailed,
                      entry_->error_message.empty() ? "execution error" : entry_->error_message);
    }
    const OutputImage* chosen = nullptr;
    for (const auto& node_id : spec_.workflow->save_image_node_ids()) {
        for (const auto& image : entry_->images) {
            if (image.node_id == node_id) {
                chosen = &image;
                break;
            }
        }
        if (chosen) break;
    }
    if (!chosen) {
        return finish(JobOutcomeKind::ProtocolError,
                      "no_output_image: history lists no SaveImage output");
    }
    arm();
    auto bytes = client_->view(*chosen);
    if (!bytes) {
        const auto kind = bytes.error().code == "worker_timeout" ? JobOutcomeKind::TimedOut
                                                                 : JobOutcomeKind::ProtocolError;
        return finish(kind, reason_of(bytes.error()));
    }
    if (bytes->empty())
        return finish(JobOutcomeKind::ProtocolError, "empty_output: /view returned no bytes");
    outcome_.output_bytes = std::move(*bytes);
    outcome_.output_filename = chosen->filename;
    return finish(JobOutcomeKind::Succeeded, "");
}

void JobRun::report_progress(const ComfyEvent& event) const {
    if (!spec_.on_progress || prompt_id_.empty() || event.prompt_id != prompt_id_) return;
    JobProgress progress;
    switch (event.type) {
        case ComfyEvent::Type::ExecutionStart:
            progress.stage = JobProgress::Stage::Running;
            break;
        case ComfyEvent::Type::Executing:
            if (!event.node) return;  // the end: the outcome reports it
            progress.stage = JobProgress::Stage::Node;
            progress.node = *event.node;
            break;
        case ComfyEvent::Type::Progress:
            progress.stage = JobProgress::Stage::Step;
            progress.node = event.node.value_or("");
            progress.value = event.progress_value;
            progress.max = event.progress_max;
            break;
        default:
            return;
    }
    spec_.on_progress(progress);
}

// Takes the prompt off the worker: deleted if still pending, interrupted if
// running. A prompt not seen running may have just started, so /queue is
// asked after the delete: whatever is still there is the running item.
void JobRun::remove_from_worker() {
    if (prompt_id_.empty() || !client_) return;
    client_->set_request_timeout_ms(kCleanupTimeoutMs);
    (void)client_->delete_queued(prompt_id_);
    bool running = tracker_.state() == PromptTracker::State::Running;
    if (!running) {
        auto queue = client_->get_queue();
        if (queue) {
            auto contains = queue_contains(*queue, prompt_id_);
            running = contains && *contains;
        }
    }
    if (running) {
        if (auto status = client_->interrupt(prompt_id_); !status) {
            spdlog::warn("job {}: could not interrupt prompt {}: {}", spec_.job_id, prompt_id_,
                         reason_of(status.error()));
        }
    }
}

// Ends the run as Cancelled, taking the prompt off the worker if there is one.
JobOutcome JobRun::cancel() {
    const bool queued = !prompt_id_.empty();
    if (queued && !tracker_.finished() && !entry_) remove_from_worker();
    spdlog::info("job {}: cancelled{}", spec_.job_id,
                 queued ? " (prompt " + prompt_id_ + " taken off " + spec_.worker_url + ")" : "");
    return finish(JobOutcomeKind::Cancelled, queued
                                                 ? "cancelled: the prompt was taken off the worker"
                                                 : "cancelled: nothing was sent to a worker");
}

void JobRun::cleanup() {
    close_socket();
    if (prompt_id_.empty() || !client_) return;
    delete_history_quietly(*client_, prompt_id_, spec_.job_id);
}

}  // namespace

const char* to_string(JobOutcomeKind kind) {
    switch (kind) {
        case JobOutcomeKind::Succeeded:
            return "succeeded";
        case JobOutcomeKind::ExecutionFailed:
            return "execution_failed";
        case JobOutcomeKind::Rejected:
            return "rejected";
        case JobOutcomeKind::WorkerUnreachable:
            return "worker_unreachable";
        case JobOutcomeKind::TimedOut:
            return "timed_out";
        case JobOutcomeKind::ProtocolError:
            return "protocol_error";
        case JobOutcomeKind::Cancelled:
            return "cancelled";
    }
    return "unknown";
}

JobOutcome run_job(const JobSpec& spec, const core::Clock& clock) {
    return run_job(spec, clock, nullptr);
}

JobOutcome run_job(const JobSpec& spec, const core::Clock& clock, WorkerEventHubs* hubs) {
    if (!spec.resume_prompt_id.empty()) {
        return JobRun(spec, clock, hubs).resume(spec.resume_prompt_id);
    }
    return JobRun(spec, clock, hubs).run();
}

JobOutcome resume_job(const JobSpec& spec, const std::string& prompt_id, const core::Clock& clock,
                      WorkerEventHubs* hubs) {
    return JobRun(spec, clock, hubs).resume(prompt_id);
}

}  // namespace tollgate::dispatch
