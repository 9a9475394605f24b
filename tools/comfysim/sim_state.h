// The emulated ComfyUI server state: queue, history, counters and the worker.
//
// Sim owns what ComfyUI's PromptServer and PromptQueue own: the priority queue
// (a heap on (number, prompt_id)), the running item, the in-memory history
// (completion order, at most kHistoryEntriesMax), the `number` counter, the
// interrupt flag, and the single worker that runs prompts through GraphRun
// and reports progress as ComfyUI's WebSocket events in ComfyUI's order.
// It also owns the simulated GPU (gpu.h): each GPU node's run waits out its
// cold start and its time, holds its VRAM, and may meet one of the seeded
// faults of SimOptions. A meter node (meter.h) reports the seconds waited
// out and the device's peak since the prompt's execution_start. Events go to
// an EventSink; every send happens under the state mutex, so events from HTTP
// threads (status on enqueue) and from the worker are totally ordered. The
// sink must not call back into Sim.
//
// Threads: every public method is thread-safe. run_next() runs one prompt on
// the calling thread (tests); start() runs them on an owned worker thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "comfysim/executor.h"
#include "comfysim/gpu.h"
#include "comfysim/meter.h"
#include "comfysim/node_table.h"
#include "comfysim/py_format.h"
#include "comfysim/storage.h"
#include "core/clock.h"

namespace tollgate::comfysim {

inline constexpr std::size_t kHistoryEntriesMax = 10'000;

// Receives WebSocket events. `sid` nullopt means every connected socket.
class EventSink {
  public:
    virtual ~EventSink() = default;
    virtual void send(const std::string& type, const Json& data,
                      const std::optional<std::string>& sid) = 0;
    // Closes every connected socket (the WebSocket drop fault).
    virtual void close_all() = 0;
};

// A GPU node's run costs what gpu.h says: its time from the node table, where
// a node's "cost" multiplies cost_base_seconds + cost_per_megapixel_seconds *
// megapixels, plus a cold start when its model is not loaded; its VRAM comes
// from the same table. The fault rates are probabilities drawn from one
// generator seeded with `seed`, so a run replays exactly.
struct SimOptions {
    double cost_base_seconds = 0.5;
    double cost_per_megapixel_seconds = 0.5;
    // A model's first use (or first after an eviction or an out-of-memory
    // error) waits uniformly between these many seconds.
    double cold_start_min_seconds = 2.0;
    double cold_start_max_seconds = 5.0;
    std::int64_t vram_total_bytes = kVramTotalBytesDefault;  // > kCudaContextBytes
    double fail_rate = 0.0;     // probability that a GPU node's run fails (out of memory)
    double crash_rate = 0.0;    // ... that the process dies halfway through a GPU node's run
    double hang_rate = 0.0;     // ... that a GPU node's run never ends (only stop() ends it)
    double ws_drop_rate = 0.0;  // ... that a prompt's first node closes every WebSocket
    std::uint64_t seed = 1;
    bool cache = true;  // ComfyUI's output cache (identical re-runs do no work)
    std::size_t history_entries_max = kHistoryEntriesMax;  // tests narrow it
    // Replaces the real wait for a cold start or a GPU node's work (tests).
    // Receives seconds.
    std::function<void(double)> gpu_wait_for_test;
    // Replaces killing the process with SIGKILL for a crash (tests).
    std::function<void()> crash_for_test;
};

class Sim {
  public:
    Sim(SimOptions options, const NodeTable& table, Storage& storage, EventSink& sink,
        const core::Clock& clock);
    ~Sim();
    Sim(const Sim&) = delete;
    Sim& operator=(const Sim&) = delete;

    // POST /prompt with its parsed body.
    Reply submit(const Json& body);
    // {"exec_info": {"queue_remaining": n}}
    Json queue_info() const;
    // GET /queue
    Json queue_view() const;
    // POST /queue: {"clear": true} and/or {"delete": [ids]}
    void queue_command(const Json& body);
    // POST /interrupt: empty `prompt_id` interrupts whatever runs.
    void interrupt(const std::string& prompt_id);
    // GET /history; offset < 0 means "the last max_items".
    Json history(std::optional<std::int64_t> max_items, std::int64_t offset) const;
    // GET /history/{id}: {} unless finished.
    Json history_item(const std::string& prompt_id) const;
    // POST /history: {"clear": true} and/or {"delete": [ids]}
    void history_command(const Json& body);
    // POST /free with its parsed body (an object): "unload_models" unloads
    // every model; "free_memory" also empties the output cache and the
    // allocator's cache, and implies unload_models unless that is given.
    // Applied between prompts, as ComfyUI's worker applies them: now when
    // idle, else once the running prompt ends.
    void free(const Json& body);
    // The node a reconnecting owner socket should hear about, if any.
    std::optional<std::string> executing_node_for(const std::string& sid) const;
    // The device's memory now (GET /system_stats).
    DeviceStats device_stats() const;
    // Loaded models, least recently used first.
    std::vector<std::string> loaded_models() const;

    // Runs the next queued prompt on this thread; false when none is queued.
    bool run_next();
    // Starts / stops the worker thread. stop() cuts a cost wait short.
    void start();
    void stop();

  private:
    struct Item {
        double priority = 0;
        Json number;
        std::string prompt_id;
        Json prompt;
        Json extra_data;
        std::vector<std::string> outputs;
        std::uint64_t sequence = 0;  // breaks ties that ComfyUI leaves to Python
        Json as_json() const;
    };
    struct Later {
        bool operator()(const Item& a, const Item& b) const;
    };

    void worker_loop();
    void execute(Item item);
    RunHooks hooks(const Item& item, const std::optional<std::string>& client, bool& drop_sockets);
    GpuOutcome gpu_work(const GpuWork& work);
    // A meter node's figures: the prompt's waited time and device peak so far.
    MeterReading meter_reading();
    // True with probability `rate`; draws nothing when the rate is 0.
    bool chance(double rate);
    double cold_start_seconds();
    // Waits `seconds` (or hands them to gpu_wait_for_test); stop() cuts it short.
    void wait_seconds(double seconds);
    void wait_until_stopped();
    void crash();
    void send_locked(const std::string& type, const Json& data,
                     const std::optional<std::string>& sid);
    void send_status_locked();
    std::size_t remaining_locked() const;
    void record_history_locked(const std::string& id, Json entry);
    void apply_free_locked();
    std::string preview_suffix();

    const SimOptions options_;
    const NodeTable& table_;
    Storage& storage_;
    EventSink& sink_;
    const core::Clock& clock_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Item> pending_;  // a heap ordered by Later
    std::optional<Item> running_;
    std::optional<std::string> running_client_;
    std::optional<std::string> last_node_;
    std::int64_t number_ = 0;
    std::uint64_t sequence_ = 0;
    std::deque<std::string> history_order_;
    std::map<std::string, Json> history_;
    bool stopping_ = false;
    std::atomic<bool> interrupt_{false};
    Device device_;
    std::optional<Json> free_pending_;  // a /free body waiting for the worker to be idle

    // Worker-only state. free() also empties cache_, under mu_ and only while
    // no prompt runs: the worker uses it only while running_ is set.
    NodeCache cache_;
    // The seconds waited out (cold starts, GPU work) since the running
    // prompt's execution_start: what a meter node reports as its wall time.
    double prompt_waited_seconds_ = 0;
    std::mt19937_64 rng_;
    std::thread worker_;
};

// The client_id a prompt's events are routed to: extra_data.client_id.
std::optional<std::string> client_of(const Json& extra_data);

}  // namespace tollgate::comfysim
