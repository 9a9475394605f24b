// The state machine behind the emulated server. The event order follows
// ComfyUI's main.py prompt_worker and execution.py PromptExecutor:
//
//   status (queued) ... status (picked up), execution_start, execution_cached,
//   executing <node> / executed <node> per node, then execution_success,
//   execution_error or execution_interrupted; history is written; status;
//   executing null.
//
// The execution_* events are recorded into the history entry's
// status.messages; executing/executed are not. Events of a prompt without a
// client_id go to nobody, except execution_interrupted, which is broadcast.
// The worker never holds the mutex while decoding, filtering or waiting out
// the cost, so HTTP handlers stay responsive during a run.
#include "comfysim/sim_state.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "comfysim/validate.h"
#include "core/ids.h"

namespace tollgate::comfysim {
namespace {

const char* const kSensitiveKeys[] = {"auth_token_comfy_org", "api_key_comfy_org"};

Json error_reply(const std::string& type, const std::string& message, const std::string& details) {
    return Json{{"error",
                 {{"type", type},
                  {"message", message},
                  {"details", details},
                  {"extra_info", Json::object()}}},
                {"node_errors", Json::object()}};
}

// Python float(x) for the "number" field; nullopt where Python raises.
std::optional<double> to_number(const Json& v) {
    if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        char* end = nullptr;
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end != s.c_str()) {
            while (*end == ' ' || *end == '\t' || *end == '\n') ++end;
            if (*end == '\0') return d;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> client_of(const Json& extra_data) {
    if (!extra_data.is_object() || !extra_data.contains("client_id")) return std::nullopt;
    const Json& c = extra_data["client_id"];
    if (c.is_null()) return std::nullopt;
    return c.is_string() ? c.get<std::string>() : c.dump();
}

Json Sim::Item::as_json() const {
    Json outs = Json::array();
    for (const auto& o : outputs) outs.push_back(o);
    return Json::array({number, prompt_id, prompt, extra_data, outs});
}

bool Sim::Later::operator()(const Item& a, const Item& b) const {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.prompt_id != b.prompt_id) return a.prompt_id > b.prompt_id;
    return a.sequence > b.sequence;
}

Sim::Sim(SimOptions options, const NodeTable& table, Storage& storage, EventSink& sink,
         const core::Clock& clock)
    : options_(std::move(options)),
      table_(table),
      storage_(storage),
      sink_(sink),
      clock_(clock),
      device_(options_.vram_total_bytes),
      rng_(options_.seed) {}

Sim::~Sim() { stop(); }

void Sim::send_locked(const std::string& type, const Json& data,
                      const std::optional<std::string>& sid) {
    sink_.send(type, data, sid);
}

std::size_t Sim::remaining_locked() const { return pending_.size() + (running_ ? 1 : 0); }

void Sim::send_status_locked() {
    send_locked("status", {{"status", {{"exec_info", {{"queue_remaining", remaining_locked()}}}}}},
                std::nullopt);
}

Json Sim::queue_info() const {
    std::lock_guard lock(mu_);
    return {{"exec_info", {{"queue_remaining", remaining_locked()}}}};
}

Reply Sim::submit(const Json& body) {
    std::unique_lock lock(mu_);
    Json number;
    double priority = 0;
    if (body.is_object() && body.contains("number")) {
        auto n = to_number(body["number"]);
        if (!n || !std::isfinite(*n)) return {500, nullptr};
        priority = *n;
        number = *n;
    } else {
        const bool front = body.is_object() && body.contains("front") &&
                           body["front"].is_boolean() && body["front"].get<bool>();
        priority = static_cast<double>(front ? -number_ : number_);
        number = front ? -number_ : number_;
        ++number_;
    }
    lock.unlock();

    if (!body.is_object() || !body.contains("prompt")) {
        return {400, error_reply("no_prompt", "No prompt provided", "No prompt provided")};
    }
    std::string prompt_id;
    const Json client_prompt_id = body.value("prompt_id", Json());
    if (client_prompt_id.is_null()) {
        prompt_id = core::uuid_v4();
    } else if (client_prompt_id.is_string() &&
               is_canonical_uuid(client_prompt_id.get<std::string>())) {
        prompt_id = client_prompt_id.get<std::string>();
    } else {
        return {400,
                error_reply("invalid_prompt_id", "prompt_id must be a valid UUID",
                            "prompt_id must be a UUID string in canonical lowercase hyphenated "
                            "form; omit it to let the server generate one")};
    }
    const Json& prompt = body["prompt"];
    if (!prompt.is_object()) return {500, nullptr};  // ComfyUI raises a TypeError
    Validation v = validate_prompt(
        prompt, table_, [this](const std::string& name) { return storage_.image_exists(name); },
        body.value("partial_execution_targets", Json()));
    Json extra = body.value("extra_data", Json::object());
    if (!extra.is_object()) return {500, nullptr};
    if (body.contains("client_id")) extra["client_id"] = body["client_id"];
    if (!v.ok) return {400, Json{{"error", v.error}, {"node_errors", v.node_errors}}};
    for (const char* key : kSensitiveKeys) extra.erase(key);
    extra["create_time"] = clock_.now_ms();

    Item item;
    item.priority = priority;
    item.number = number;
    item.prompt_id = prompt_id;
    item.prompt = std::move(v.prompt);
    item.extra_data = std::move(extra);
    item.outputs = v.outputs;
    lock.lock();
    item.sequence = sequence_++;
    pending_.push_back(std::move(item));
    std::push_heap(pending_.begin(), pending_.end(), Later{});
    send_status_locked();
    cv_.notify_all();
    lock.unlock();
    return {200,
            Json{{"prompt_id", prompt_id}, {"number", number}, {"node_errors", v.node_errors}}};
}

Json Sim::queue_view() const {
    std::lock_guard lock(mu_);
    Json running = Json::array();
    if (running_) running.push_back(running_->as_json());
    Json pending = Json::array();
    for (const auto& item : pending_) pending.push_back(item.as_json());
    return {{"queue_running", running}, {"queue_pending", pending}};
}

void Sim::queue_command(const Json& body) {
    std::lock_guard lock(mu_);
    if (body.contains("clear") && body["clear"].is_boolean() && body["clear"].get<bool>()) {
        pending_.clear();
        send_status_locked();
    }
    if (body.contains("delete") && body["delete"].is_array()) {
        for (const auto& id : body["delete"]) {
            auto it = std::find_if(pending_.begin(), pending_.end(),
                                   [&](const Item& i) { return Json(i.prompt_id) == id; });
            if (it == pending_.end()) continue;
            pending_.erase(it);
            std::make_heap(pending_.begin(), pending_.end(), Later{});
            send_status_locked();
        }
    }
}

void Sim::interrupt(const std::string& prompt_id) {
    std::lock_guard lock(mu_);
    if (!prompt_id.empty() && !(running_ && running_->prompt_id == prompt_id)) return;
    interrupt_ = true;
}

Json Sim::history(std::optional<std::int64_t> max_items, std::int64_t offset) const {
    std::lock_guard lock(mu_);
    const auto size = static_cast<std::int64_t>(history_order_.size());
    if (offset < 0 && max_items) offset = size - *max_items;
    Json out = Json::object();
    std::int64_t i = 0;
    for (const auto& id : history_order_) {
        if (i++ < offset) continue;
        out[id] = history_.at(id);
        if (max_items && static_cast<std::int64_t>(out.size()) >= *max_items) break;
    }
    return out;
}

Json Sim::history_item(const std::string& prompt_id) const {
    std::lock_guard lock(mu_);
    auto it = history_.find(prompt_id);
    if (it == history_.end()) return Json::object();
    return Json{{prompt_id, it->second}};
}

void Sim::history_command(const Json& body) {
    std::lock_guard lock(mu_);
    if (body.contains("clear") && body["clear"].is_boolean() && body["clear"].get<bool>()) {
        history_.clear();
        history_order_.clear();
    }
    if (body.contains("delete") && body["delete"].is_array()) {
        for (const auto& id : body["delete"]) {
            if (!id.is_string() || history_.erase(id.get<std::string>()) == 0) continue;
            history_order_.erase(
                std::find(history_order_.begin(), history_order_.end(), id.get<std::string>()));
        }
    }
}

void Sim::free(const Json& body) {
    std::lock_guard lock(mu_);
    if (!free_pending_) free_pending_ = Json::object();
    for (const char* key : {"unload_models", "free_memory"}) {
        if (body.contains(key)) (*free_pending_)[key] = body[key];
    }
    if (!running_) apply_free_locked();
}

void Sim::apply_free_locked() {
    if (!free_pending_) return;
    auto truthy = [](const Json& v) {
        if (v.is_boolean()) return v.get<bool>();
        if (v.is_number()) return v.get<double>() != 0;
        if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
        return false;
    };
    const Json flags = *std::exchange(free_pending_, std::nullopt);
    const bool free_memory = truthy(flags.value("free_memory", Json(false)));
    if (truthy(flags.value("unload_models", Json(free_memory)))) device_.unload_models();
    if (free_memory) {
        // The worker is between prompts, so nothing else touches the cache.
        cache_.keep_only({});
        device_.empty_cache();
    }
}

std::optional<std::string> Sim::executing_node_for(const std::string& sid) const {
    std::lock_guard lock(mu_);
    if (running_client_ == sid && last_node_) return last_node_;
    return std::nullopt;
}

DeviceStats Sim::device_stats() const {
    std::lock_guard lock(mu_);
    return device_.stats();
}

std::vector<std::string> Sim::loaded_models() const {
    std::lock_guard lock(mu_);
    return device_.loaded_models();
}

void Sim::record_history_locked(const std::string& id, Json entry) {
    // Python dicts keep a re-assigned key in its old place; ComfyUI never
    // rejects duplicate prompt ids, so neither do we.
    if (history_.count(id) == 0) history_order_.push_back(id);
    history_[id] = std::move(entry);
    while (history_order_.size() > options_.history_entries_max) {
        history_.erase(history_order_.front());
        history_order_.pop_front();
    }
}

bool Sim::run_next() {
    Item item;
    {
        std::lock_guard lock(mu_);
        if (pending_.empty()) return false;
        std::pop_heap(pending_.begin(), pending_.end(), Later{});
        item = std::move(pending_.back());
        pending_.pop_back();
        running_ = item;
        running_client_ = client_of(item.extra_data);
        last_node_.reset();
        interrupt_ = false;
        send_status_locked();
    }
    execute(std::move(item));
    return true;
}

std::string Sim::preview_suffix() {
    static constexpr char kLetters[] = "abcdefghijklmnopqrstupvxyz";  // sic: ComfyUI's list
    std::string s;
    for (int i = 0; i < 5; ++i) s += kLetters[rng_() % (sizeof kLetters - 1)];
    return s;
}

RunHooks Sim::hooks(const Item& item, const std::optional<std::string>& client,
                    bool& drop_sockets) {
    RunHooks h;
    h.executing = [this, &item, client, &drop_sockets](const std::string& node) {
        std::lock_guard lock(mu_);
        if (client) {
            last_node_ = node;
            send_locked("executing",
                        {{"node", node}, {"display_node", node}, {"prompt_id", item.prompt_id}},
                        client);
        }
        if (std::exchange(drop_sockets, false)) sink_.close_all();
    };
    h.executed = [this, &item, client](const std::string& node, const Json& ui) {
        std::lock_guard lock(mu_);
        if (!client) return;
        send_locked(
            "executed",
            {{"node", node}, {"display_node", node}, {"output", ui}, {"prompt_id", item.prompt_id}},
            client);
    };
    h.interrupted = [this] { return interrupt_.load(); };
    h.gpu_work = [this](const GpuWork& work) { return gpu_work(work); };
    h.meter = [this] { return meter_reading(); };
    return h;
}

MeterReading Sim::meter_reading() {
    MeterReading r;
    // Bounded before rounding; meter_ui() reports anything past the bound as null.
    const double waited_ms =
        std::min(prompt_waited_seconds_ * 1000.0, static_cast<double>(kMeterWallMsMax) + 1.0);
    r.wall_ms = std::llround(std::max(waited_ms, 0.0));
    std::lock_guard lock(mu_);
    r.gpu_peak_bytes = device_.peak_allocated_bytes();
    return r;
}

// Draws happen in a fixed order (fail, cold start, hang, crash), and fault
// draws only for non-zero rates, so a seed replays the same run.
GpuOutcome Sim::gpu_work(const GpuWork& work) {
    Device::Load load = Device::Load::OutOfMemory;
    if (!chance(options_.fail_rate)) {
        std::lock_guard lock(mu_);
        load = device_.begin(work.model, work.spec->vram_bytes, working_bytes(work));
    }
    if (load == Device::Load::OutOfMemory) {
        // ComfyUI answers any out-of-memory error by unloading every model.
        std::lock_guard lock(mu_);
        device_.unload_models();
        return GpuOutcome::OutOfMemory;
    }
    if (load == Device::Load::Cold) {
        if (const double cold = cold_start_seconds(); cold > 0) wait_seconds(cold);
    }
    if (chance(options_.hang_rate)) wait_until_stopped();
    const double seconds =
        work_seconds(work, options_.cost_base_seconds, options_.cost_per_megapixel_seconds);
    if (chance(options_.crash_rate)) {
        wait_seconds(seconds / 2);
        crash();
    }
    wait_seconds(seconds);
    std::lock_guard lock(mu_);
    device_.end();
    return GpuOutcome::Done;
}

bool Sim::chance(double rate) {
    if (rate <= 0) return false;
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < rate;
}

double Sim::cold_start_seconds() {
    const double low = options_.cold_start_min_seconds;
    const double high = options_.cold_start_max_seconds;
    if (high <= low) return low;
    return std::uniform_real_distribution<double>(low, high)(rng_);
}

void Sim::wait_seconds(double seconds) {
    if (seconds > 0) prompt_waited_seconds_ += seconds;
    if (options_.gpu_wait_for_test) {
        options_.gpu_wait_for_test(seconds);
        return;
    }
    if (seconds <= 0) return;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stopping_; });
}

void Sim::wait_until_stopped() {
    // A hung node ignores /interrupt, as a wedged GPU kernel or a stuck
    // download does in ComfyUI; only stopping the process ends it.
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stopping_; });
}

void Sim::crash() {
    if (options_.crash_for_test) {
        options_.crash_for_test();
        return;
    }
    // As the kernel's OOM killer would: no cleanup, sockets reset.
    ::kill(::getpid(), SIGKILL);
}

void Sim::execute(Item item) {
    const std::optional<std::string> client = client_of(item.extra_data);
    Json messages = Json::array();
    // ComfyUI's add_message: record for history, send to the owner (or to
    // everyone when `broadcast` and there is no owner).
    auto add_message = [&](const std::string& event, Json data, bool broadcast) {
        data["timestamp"] = clock_.now_ms();
        messages.push_back(Json::array({event, data}));
        std::lock_guard lock(mu_);
        if (client || broadcast) send_locked(event, data, client);
    };

    RunContext ctx;
    ctx.table = &table_;
    ctx.storage = &storage_;
    ctx.cache = &cache_;
    ctx.use_cache = options_.cache;
    ctx.extra_pnginfo = item.extra_data.value("extra_pnginfo", Json());
    ctx.preview_suffix = preview_suffix();
    ctx.run_id = std::to_string(item.sequence);

    // The meter's figures start here, as the real node's do at execution_start.
    prompt_waited_seconds_ = 0;
    {
        std::lock_guard lock(mu_);
        device_.reset_peak();
    }
    add_message("execution_start", {{"prompt_id", item.prompt_id}}, false);
    GraphRun run(item.prompt, item.outputs, ctx);
    Json cached = Json::array();
    for (const auto& id : run.cached_nodes()) cached.push_back(id);
    add_message("execution_cached", {{"nodes", cached}, {"prompt_id", item.prompt_id}}, false);

    bool drop_sockets = chance(options_.ws_drop_rate);
    RunResult result = run.execute(hooks(item, client, drop_sockets));
    Json executed = Json::array();
    for (const auto& id : result.executed) executed.push_back(id);
    switch (result.outcome) {
        case RunOutcome::Success:
            add_message("execution_success", {{"prompt_id", item.prompt_id}}, false);
            break;
        case RunOutcome::Interrupted:
            add_message("execution_interrupted",
                        {{"prompt_id", item.prompt_id},
                         {"node_id", result.node_id},
                         {"node_type", result.node_type},
                         {"executed", executed}},
                        true);
            break;
        case RunOutcome::Error:
            add_message("execution_error",
                        {{"prompt_id", item.prompt_id},
                         {"node_id", result.node_id},
                         {"node_type", result.node_type},
                         {"executed", executed},
                         {"exception_message", result.exception_message},
                         {"exception_type", result.exception_type},
                         {"traceback", Json::array()},
                         {"current_inputs", result.current_inputs},
                         {"current_outputs", result.current_outputs}},
                        false);
            break;
    }
    const bool success = result.outcome == RunOutcome::Success;
    Json entry = {{"prompt", item.as_json()},
                  {"outputs", result.outputs},
                  {"status",
                   {{"status_str", success ? "success" : "error"},
                    {"completed", success},
                    {"messages", messages}}},
                  {"meta", result.meta}};

    std::lock_guard lock(mu_);
    record_history_locked(item.prompt_id, std::move(entry));
    running_.reset();
    apply_free_locked();
    running_client_.reset();
    last_node_.reset();
    send_status_locked();
    if (client)
        send_locked("executing", {{"node", nullptr}, {"prompt_id", item.prompt_id}}, client);
}

void Sim::worker_loop() {
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (stopping_) return;
        }
        run_next();
    }
}

void Sim::start() {
    std::lock_guard lock(mu_);
    if (worker_.joinable()) return;
    stopping_ = false;
    worker_ = std::thread([this] { worker_loop(); });
}

void Sim::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        cv_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
}

}  // namespace tollgate::comfysim
