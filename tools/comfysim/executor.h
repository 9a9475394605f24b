// Runs one validated prompt graph: ComfyUI's execution order and output cache.
//
// GraphRun walks each output node depth-first and runs its inputs first,
// skipping any input whose result is already cached, as ComfyUI's
// ExecutionList does. The cache is ComfyUI's "classic" one: entries are keyed
// by an input signature (class, literal inputs, upstream signatures and, for
// LoadImage, a hash of the file's bytes) and only the previous prompt's
// entries survive. An identical re-run therefore does no work and reports the
// same files again, except downstream of a meter node: like the real one,
// whose IS_CHANGED returns NaN, it is never served from the cache, so it and
// the nodes after it run again and report fresh figures. What a node does comes from its table
// entry's behaviour (node_table.h), never from its class_type. GraphRun knows nothing of sockets or
// queues: it reports through RunHooks. Executor thread only.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "comfysim/gpu.h"
#include "comfysim/image_ops.h"
#include "comfysim/meter.h"
#include "comfysim/node_table.h"
#include "comfysim/py_format.h"
#include "comfysim/storage.h"

namespace tollgate::comfysim {

struct NodeOutput {
    Image image;        // every IMAGE (and MASK) output slot; empty for output nodes
    std::string text;   // every STRING output slot (OCR's recognised text)
    Json ui = nullptr;  // {"images": [...]} for nodes that show results
};

// An image_scale node fails rather than produce more than this: the
// simulated GPU runs out of memory, as a real one would.
inline constexpr double kScaledMegapixelsMax = 256.0;

class NodeCache {
  public:
    const NodeOutput* find(const std::string& signature) const;
    void put(const std::string& signature, NodeOutput output);
    // Drops every entry whose signature is not in `keep`.
    void keep_only(const std::set<std::string>& keep);
    std::size_t size() const { return entries_.size(); }

  private:
    std::map<std::string, NodeOutput> entries_;
};

struct RunHooks {
    std::function<void(const std::string& node_id)> executing;  // a node starts
    std::function<void(const std::string& node_id, const Json& ui)> executed;
    std::function<bool()> interrupted;  // checked before each node runs
    // A GPU node's simulated work (gpu.h), once per run of the node;
    // OutOfMemory fails the node with torch's out-of-memory error.
    std::function<GpuOutcome(const GpuWork& work)> gpu_work;
    // A meter node runs: the prompt's figures so far. Unset: null figures.
    std::function<MeterReading()> meter;
};

enum class RunOutcome { Success, Error, Interrupted };

struct RunResult {
    RunOutcome outcome = RunOutcome::Success;
    // For Error and Interrupted: where and why it stopped.
    std::string node_id;
    std::string node_type;
    std::string exception_message;
    std::string exception_type;
    Json current_inputs = Json::object();
    Json current_outputs = Json::array();
    std::vector<std::string> executed;  // nodes finished in this run, in order
    Json outputs = Json::object();      // node id -> ui, for history
    Json meta = Json::object();         // node id -> display info, for history
};

struct RunContext {
    const NodeTable* table = nullptr;
    Storage* storage = nullptr;
    NodeCache* cache = nullptr;
    bool use_cache = true;
    Json extra_pnginfo = nullptr;  // written into saved PNGs
    std::string preview_suffix;    // PreviewImage's random 5 letters
    // Unique to this run among the runs that share `cache`: a meter node's
    // signature includes it, so the meter never matches an earlier run.
    std::string run_id;
};

class GraphRun {
  public:
    // `prompt` must have passed validate_prompt().
    GraphRun(const Json& prompt, std::vector<std::string> outputs, RunContext context);

    // Node ids whose result is cached, in prompt order (execution_cached).
    const std::vector<std::string>& cached_nodes() const { return cached_; }

    RunResult execute(const RunHooks& hooks);

  private:
    std::string signature(const std::string& id);
    bool run_node(const std::string& id, const RunHooks& hooks, RunResult& result);
    bool visit(const std::string& id, const RunHooks& hooks, RunResult& result,
               std::set<std::string>& done);
    NodeOutput compute(const std::string& id, const RunHooks& hooks, RunResult& result, bool& ok);
    bool transform(const std::string& id, const NodeSpec& spec, const RunHooks& hooks,
                   RunResult& result, NodeOutput& out);
    // The image a link input carries; nullptr (and `result` failed) when the
    // input holds a literal instead of a link.
    const Image* upstream(const std::string& id, const std::string& input, RunResult& result);
    // The output type a link ["<id>", slot] points at; "" when unknown.
    std::string output_type(const Json& link) const;
    // A literal input's value, else its config's default, else null.
    Json input_or_default(const std::string& id, const NodeSpec& spec,
                          const std::string& name) const;
    Json current_inputs(const std::string& id) const;
    // The GpuWork of node `id` turning `in` into a `width` x `height` image.
    GpuWork gpu_work(const std::string& id, const NodeSpec& spec, const Image& in, int width,
                     int height) const;
    // ComfyUI's exception_message is "<exception text>\n<tips>".
    void fail(RunResult& result, const std::string& id, std::string type, std::string message,
              const std::string& tips = "");

    Json prompt_;
    std::vector<std::string> outputs_;
    RunContext ctx_;
    std::map<std::string, std::string> signatures_;
    std::vector<std::string> cached_;
    std::map<std::string, NodeOutput> values_;  // this run's results by node id
};

}  // namespace tollgate::comfysim
