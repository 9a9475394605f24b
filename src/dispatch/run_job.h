// One colorization job, run start to finish against one ComfyUI worker, or
// picked up again after a restart.
//
// run_job() blocks the calling (dispatch) thread for at most about
// JobSpec::timeout_ms plus a few seconds of best-effort cleanup. It uploads
// the image under a name tollgate chooses, queues the prompt, reports the
// worker's prompt id through JobSpec::on_queued, follows the prompt over the
// WebSocket (polling /history and /queue when the socket fails or goes
// quiet), downloads the first SaveImage output, and deletes the history entry.
// resume_job() does the same following, downloading and cleanup for a prompt
// an earlier process queued, and never uploads or queues anything.
// Every failure ends in exactly one JobOutcomeKind; nothing throws. The
// uploaded input file stays on the worker (ComfyUI has no route to delete it).
// Thread-safe: runs share nothing but the read-only WorkflowTemplate and Clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "dispatch/workflow_template.h"

namespace tollgate::dispatch {

// How often a waiting job looks at its cancel flag.
inline constexpr int kCancelCheckMs = 100;

// What a worker reported of a job's prompt while it ran, as it arrived.
struct JobProgress {
    enum class Stage { Running, Node, Step };
    Stage stage = Stage::Running;  // execution started | a node started | a step of a node
    std::string node;              // Node and Step: the node id
    std::int64_t value = 0;        // Step: steps done of max
    std::int64_t max = 0;
};

struct JobSpec {
    std::string job_id;      // [A-Za-z0-9_-], 1..100 bytes; names the files on the worker
    std::string worker_url;  // "http://host:port"
    const WorkflowTemplate* workflow = nullptr;  // borrowed; must outlive the run
    // Keeps `workflow` alive when it is the job's own (a ComfyUI facade
    // prompt's graph) rather than a configured template; null otherwise.
    std::shared_ptr<const WorkflowTemplate> owned_workflow;
    std::string image_bytes;
    std::string image_extension;  // "png", "jpg", "jpeg" or "webp"
    int timeout_ms = 0;           // whole job; clamped to [1, kJobTimeoutMsMax]
    JobParams params;             // set into the template's bound inputs
    // Called once by run_job(), on its own thread, as soon as the worker has
    // accepted the prompt and before following it, with the worker and the id
    // it returned (the one resume_job() needs). Not called when nothing was
    // queued, nor by resume_job(); a retry on another worker calls it again.
    // Optional; must not throw. The prompt is already queued on the worker,
    // so keep it short (one durable write).
    std::function<void(const std::string& worker_url, const std::string& prompt_id)> on_queued;
    // The pool (workflow) whose workers may run the job; the scheduler picks
    // worker_url from it (run_with_retries). Empty: worker_url is used as is.
    std::string pool;
    // Set by whoever cancels the job. run_job() looks at it before each step
    // and at least every kCancelCheckMs while waiting: a prompt still queued
    // on the worker is deleted, a running one is interrupted, and the outcome
    // is Cancelled. Optional.
    std::shared_ptr<const std::atomic<bool>> cancelled;
    // Called on the job's thread for each event of its prompt that shows
    // progress (WebSocket only; nothing while polling). Optional; must not
    // throw or block.
    std::function<void(const JobProgress&)> on_progress;
    // When set, run_job() re-attaches to this prompt (resume_job) instead of
    // uploading and queueing: how a restart follows jobs already on a worker.
    std::string resume_prompt_id;
    // When set, a successful run leaves the history delete (a request to the
    // worker that nothing waits for) to JobOutcome::after_settle instead of
    // making it before returning, so it is off the job's latency. The
    // dispatcher runs after_settle once the job's callback has settled it.
    bool defer_cleanup = false;
};

enum class JobOutcomeKind {
    Succeeded,          // output_bytes holds the image
    ExecutionFailed,    // the worker ran the prompt and it failed or was interrupted
    Rejected,           // the worker refused the prompt (validation), or the spec is invalid
    WorkerUnreachable,  // nothing was queued: safe to retry on another worker
    TimedOut,           // the deadline passed; the prompt may still run on the worker
    ProtocolError,      // the worker answered something unusable or vanished mid-job
    Cancelled,          // JobSpec::cancelled was set; nothing more runs on the worker
};

const char* to_string(JobOutcomeKind kind);

struct JobOutcome {
    JobOutcomeKind kind = JobOutcomeKind::ProtocolError;
    std::string
        reason;  // empty on success; otherwise human text (an error code prefix where known)
    std::string worker_url;
    std::string prompt_id;  // the worker's id, once queued
    std::string output_bytes;
    std::string output_filename;  // as the worker named it
    // execution_start minus the time tollgate posted the prompt (ms, ≥ 0; 0 if unknown).
    std::int64_t queue_wait_ms = 0;
    // execution_success/error minus execution_start (worker timestamps, ms, ≥ 0; 0 if unknown).
    std::int64_t execution_ms = 0;
    // The job may run again on another worker without any risk of a second
    // execution being paid for: nothing was queued, or the worker lost the
    // prompt before its execution started (it restarted or stopped answering).
    bool retry_safe = false;
    // An execution_start (or a history entry) was seen for the prompt.
    bool execution_started = false;
    // Workers tried (run_with_retries); 1 for a single run.
    int attempts = 1;
    // The highest VRAM in use sampled on the worker while the job held it
    // (bytes; 0 when no sample came in). Set by run_with_retries.
    std::int64_t vram_peak_bytes = 0;
    // What the workflow's meter node (comfyui/tollgate_meter) reported in the
    // prompt's history entry (HistoryEntry::meter): wall time from the
    // prompt's execution_start to the meter (only when measured from there),
    // and the GPU's peak allocated memory. -1: not measured (no meter in the
    // workflow, no CUDA on the worker, a malformed reading, or no history
    // entry read: a run that failed on the WebSocket's word alone).
    std::int64_t meter_wall_ms = -1;
    std::int64_t meter_gpu_peak_bytes = -1;
    // Best-effort work left for after the job is settled (JobSpec::
    // defer_cleanup): deleting the prompt's history entry on the worker.
    // Empty when nothing is left. Must not throw; bounded by its own timeout.
    std::function<void()> after_settle;
};

class WorkerEventHubs;

// `clock` gives the deadline (steady_us) and the posting time (now_ms); the
// network waits themselves run on real time, so pass SystemClock in production.
// With `hubs`, the job follows its prompt on its worker's shared WebSocket
// (see worker_events.h) and posts it under the hubs' client id; without, it
// opens a WebSocket of its own under the client id "tollgate-<job id>".
JobOutcome run_job(const JobSpec& spec, const core::Clock& clock, WorkerEventHubs* hubs);
JobOutcome run_job(const JobSpec& spec, const core::Clock& clock);

// Follows `prompt_id`, which an earlier run_job() queued on spec.worker_url,
// to its end, within spec.timeout_ms from now (pass what is left of the job's
// original deadline). Only job_id, worker_url, workflow and timeout_ms of
// `spec` are read. The outcomes mean what they mean for run_job(), and:
//   Succeeded        the prompt had finished or now finished; output as for run_job()
//   ExecutionFailed  it failed or was interrupted on the worker
//   ProtocolError    "prompt_lost: ..." when the worker has the prompt neither
//                    queued nor in history (it restarted, or the history entry
//                    was deleted); "worker_lost: ..." when it stopped answering
//   TimedOut         the deadline passed; a still-pending prompt is removed
//   Rejected         "invalid_job_spec: ..." for a bad job id or prompt id,
//                    "invalid_worker_url: ..." for a bad spec.worker_url
// Never WorkerUnreachable: the prompt was queued, so the job is not safe to
// run elsewhere without settling this one. queue_wait_ms is 0 (the posting
// time died with the earlier process).
JobOutcome resume_job(const JobSpec& spec, const std::string& prompt_id, const core::Clock& clock,
                      WorkerEventHubs* hubs = nullptr);

}  // namespace tollgate::dispatch
