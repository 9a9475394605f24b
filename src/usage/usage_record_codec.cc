// The JSON form of a usage record (see usage_record_codec.h).
//
// JSON rather than MessagePack or a delimited line: operators read it with
// redis-cli and jq, and nlohmann keeps 64-bit integers exact (Lua's cjson
// would not, which is why no script decodes a record). The decoder checks the
// nesting before parsing, since nlohmann destroys and copies values
// recursively, so a document deeply nested is refused unread.
#include "usage/usage_record_codec.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

namespace tollgate::usage {
namespace {

core::Error invalid_record(const std::string& why) {
    return core::make_error("invalid_usage_record", "usage record: " + why);
}

// Deeper documents are refused. A record is one level deep; the room above
// it is for fields a later writer may add (read past, never refused).
constexpr int kDepthMax = 8;

// True when no array or object of `text` nests deeper than kDepthMax. Brackets
// inside strings are skipped; the text need not be valid JSON.
bool shallow(std::string_view text) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kDepthMax) return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return true;
}

// Reads the fields of one JSON object, remembering the first problem.
class FieldReader {
  public:
    explicit FieldReader(const nlohmann::json& object) : object_(object) {}

    void text(const char* name, std::string* out) {
        const nlohmann::json* v = find(name);
        if (v == nullptr) return;
        const auto* s = v->get_ptr<const nlohmann::json::string_t*>();
        if (s == nullptr) return fail(std::string(name) + " is not a string");
        *out = *s;
    }
    void integer(const char* name, std::int64_t* out) {
        const nlohmann::json* v = find(name);
        if (v == nullptr) return;
        // Unsigned first: nlohmann's signed pointer also answers for an
        // unsigned value, reading its bits as signed.
        if (const auto* u = v->get_ptr<const nlohmann::json::number_unsigned_t*>()) {
            if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return fail(std::string(name) + " is out of range");
            }
            *out = static_cast<std::int64_t>(*u);
        } else if (const auto* i = v->get_ptr<const nlohmann::json::number_integer_t*>()) {
            *out = *i;
        } else {
            fail(std::string(name) + " is not an integer");
        }
    }
    // A field added after the first v1 records: absent leaves `out` as it
    // is (its default), present it must be an integer.
    void added_integer(const char* name, std::int64_t* out) {
        if (problem_.empty() && object_.contains(name)) integer(name, out);
    }
    const std::string& problem() const { return problem_; }

  private:
    const nlohmann::json* find(const char* name) {
        if (!problem_.empty()) return nullptr;
        auto it = object_.find(name);
        if (it == object_.end()) {
            fail(std::string(name) + " is missing");
            return nullptr;
        }
        return &*it;
    }
    void fail(std::string why) {
        if (problem_.empty()) problem_ = std::move(why);
    }

    const nlohmann::json& object_;
    std::string problem_;
};

}  // namespace

core::Status check_usage_record(const UsageRecord& r) {
    if (r.job_id.empty()) return invalid_record("no job id");
    if (r.account_id.empty()) return invalid_record("no account id");
    if (r.outcome != "succeeded" && r.outcome != "failed") {
        return invalid_record("outcome is neither succeeded nor failed");
    }
    if (r.dedupe_kind != "" && r.dedupe_kind != "exact" && r.dedupe_kind != "near") {
        return invalid_record("dedupe_kind is none of \"\", exact and near");
    }
    if (r.meter_wall_ms < -1) return invalid_record("meter_wall_ms is below -1");
    if (r.meter_gpu_peak_bytes < -1) return invalid_record("meter_gpu_peak_bytes is below -1");
    return {};
}

std::string encode_usage_record(const UsageRecord& r) {
    nlohmann::ordered_json j;
    j["v"] = kUsageRecordVersion;
    j["job_id"] = r.job_id;
    j["account_id"] = r.account_id;
    j["workflow"] = r.workflow;
    j["width"] = r.width;
    j["height"] = r.height;
    j["tokens"] = r.tokens;
    j["quoted_tokens"] = r.quoted_tokens;
    j["book_version"] = r.book_version;
    j["md5_hex"] = r.md5_hex;
    j["sha256_hex"] = r.sha256_hex;
    j["worker"] = r.worker;
    j["queue_wait_ms"] = r.queue_wait_ms;
    j["execution_ms"] = r.execution_ms;
    j["outcome"] = r.outcome;
    j["failure_reason"] = r.failure_reason;
    j["finished_ms"] = r.finished_ms;
    j["vram_peak_bytes"] = r.vram_peak_bytes;
    j["attempts"] = r.attempts;
    j["dedupe_kind"] = r.dedupe_kind;
    j["dedupe_of"] = r.dedupe_of;
    j["dedupe_distance"] = r.dedupe_distance;
    j["meter_wall_ms"] = r.meter_wall_ms;
    j["meter_gpu_peak_bytes"] = r.meter_gpu_peak_bytes;
    // replace: an invalid_record UTF-8 byte becomes U+FFFD instead of an exception.
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

core::Result<UsageRecord> decode_usage_record(std::string_view text) {
    if (text.size() > kUsageRecordBytesMax) {
        return invalid_record(std::to_string(text.size()) + " bytes, more than " +
                              std::to_string(kUsageRecordBytesMax));
    }
    if (!shallow(text)) return invalid_record("nested deeper than " + std::to_string(kDepthMax));
    const nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                                   /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_record("not valid JSON");
    if (!j.is_object()) return invalid_record("not a JSON object");
    FieldReader read(j);
    std::int64_t version = 0;
    read.integer("v", &version);
    if (read.problem().empty() && version != kUsageRecordVersion) {
        return invalid_record("version " + std::to_string(version) + " is not " +
                              std::to_string(kUsageRecordVersion));
    }
    UsageRecord r;
    read.text("job_id", &r.job_id);
    read.text("account_id", &r.account_id);
    read.text("workflow", &r.workflow);
    read.integer("width", &r.width);
    read.integer("height", &r.height);
    read.integer("tokens", &r.tokens);
    read.integer("quoted_tokens", &r.quoted_tokens);
    read.text("book_version", &r.book_version);
    read.text("md5_hex", &r.md5_hex);
    read.text("sha256_hex", &r.sha256_hex);
    read.text("worker", &r.worker);
    read.integer("queue_wait_ms", &r.queue_wait_ms);
    read.integer("execution_ms", &r.execution_ms);
    read.text("outcome", &r.outcome);
    read.text("failure_reason", &r.failure_reason);
    read.integer("finished_ms", &r.finished_ms);
    read.integer("vram_peak_bytes", &r.vram_peak_bytes);
    read.integer("attempts", &r.attempts);
    read.text("dedupe_kind", &r.dedupe_kind);
    read.text("dedupe_of", &r.dedupe_of);
    read.integer("dedupe_distance", &r.dedupe_distance);
    // Records written before the meter fields lack them: not measured.
    read.added_integer("meter_wall_ms", &r.meter_wall_ms);
    read.added_integer("meter_gpu_peak_bytes", &r.meter_gpu_peak_bytes);
    if (!read.problem().empty()) return invalid_record(read.problem());
    if (core::Status s = check_usage_record(r); !s.ok()) return s.error();
    return r;
}

}  // namespace tollgate::usage
