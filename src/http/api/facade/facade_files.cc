#include "http/api/facade/facade_files.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "core/assert.h"
#include "core/ids.h"

namespace tollgate::http::facade {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kInputSuffix = " [input]";
constexpr std::uintmax_t kPromptFileBytesMax = 4 * 1024 * 1024;

core::Error storage_error(const std::string& what, const std::error_code& ec) {
    return core::make_error("storage_error", what + ": " + ec.message());
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 100) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

// "a/b" into its components, each a valid name; nullopt when any is not.
std::optional<std::vector<std::string>> split_subfolder(std::string_view subfolder) {
    std::vector<std::string> parts;
    if (subfolder.empty()) return parts;
    std::size_t start = 0;
    while (start <= subfolder.size()) {
        const std::size_t slash = std::min(subfolder.find('/', start), subfolder.size());
        const std::string_view part = subfolder.substr(start, slash - start);
        if (!valid_upload_name(part) || parts.size() == kSubfolderDepthMax) return std::nullopt;
        parts.emplace_back(part);
        start = slash + 1;
    }
    return parts;
}

core::Status write_whole(const fs::path& path, std::string_view bytes) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return storage_error("cannot make " + path.parent_path().string(), ec);
    const fs::path temp = path.parent_path() / (".tmp-" + core::random_hex(8));
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) {
            fs::remove(temp, ec);
            return core::make_error("storage_error", "cannot write " + temp.string());
        }
    }
    fs::rename(temp, path, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(temp, ignored);
        return storage_error("cannot rename into " + path.string(), ec);
    }
    return {};
}

std::optional<std::string> read_whole(const fs::path& path, std::uintmax_t bytes_max) {
    std::error_code ec;
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec || size > bytes_max) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return bytes;
}

// "stem (n).ext" for n >= 1.
std::string numbered(const std::string& filename, int n) {
    const auto dot = filename.rfind('.');
    const std::string stem =
        dot == std::string::npos || dot == 0 ? filename : filename.substr(0, dot);
    const std::string ext = dot == std::string::npos || dot == 0 ? "" : filename.substr(dot);
    return stem + " (" + std::to_string(n) + ")" + ext;
}

}  // namespace

bool valid_upload_name(std::string_view name) {
    if (name.empty() || name.size() > kUploadNameBytesMax || name.front() == '.' ||
        name.front() == ' ' || name.back() == ' ') {
        return false;
    }
    return std::none_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f || c == '/' || c == '\\' || c == ':' || c == '[' || c == ']';
    });
}

FacadeFiles::FacadeFiles(fs::path root) : root_(std::move(root)) {}

fs::path FacadeFiles::account_dir(const std::string& account_id) const {
    TOLLGATE_ASSERT(valid_id(account_id));
    return root_ / account_id;
}

core::Result<StoredUpload> FacadeFiles::put_upload(const std::string& account_id,
                                                   const std::string& subfolder,
                                                   const std::string& filename,
                                                   std::string_view bytes, bool overwrite) {
    const auto parts = split_subfolder(subfolder);
    if (!parts || !valid_upload_name(filename)) {
        return core::make_error("invalid_upload",
                                "the file name and subfolder are plain names (no '..', no leading "
                                "'.', no '\\', ':', '[' or ']', at most 200 bytes, 4 levels)");
    }
    const fs::path inputs = account_dir(account_id) / "inputs";
    fs::path dir = inputs;
    for (const std::string& p : *parts) dir /= p;
    std::string name = filename;
    if (!overwrite) {
        for (int n = 0;; ++n) {
            if (n > kRenamesMax) {
                return core::make_error("invalid_upload",
                                        "too many uploads named " + filename + " with other bytes");
            }
            name = n == 0 ? filename : numbered(filename, n);
            std::error_code ec;
            if (!fs::exists(dir / name, ec)) break;
            const auto existing = read_whole(dir / name, bytes.size());
            if (existing && *existing == bytes) return StoredUpload{name, subfolder};
        }
    }
    if (core::Status s = write_whole(dir / name, bytes); !s.ok()) return s.error();
    trim_uploads(inputs);
    return StoredUpload{name, subfolder};
}

void FacadeFiles::trim_uploads(const fs::path& inputs) const {
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(inputs, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it.depth() > static_cast<int>(kSubfolderDepthMax)) continue;
        if (it->is_regular_file(ec)) files.emplace_back(it->last_write_time(ec), it->path());
    }
    if (files.size() <= kUploadsPerAccountMax) return;
    std::sort(files.begin(), files.end());
    const std::size_t excess = files.size() - kUploadsPerAccountMax;
    for (std::size_t i = 0; i < excess; ++i) fs::remove(files[i].second, ec);
}

core::Result<std::string> FacadeFiles::read_upload(const std::string& account_id,
                                                   const std::string& image_ref) const {
    std::string ref = image_ref;
    if (ref.size() > kInputSuffix.size() && ref.ends_with(kInputSuffix)) {
        ref.resize(ref.size() - kInputSuffix.size());
    }
    const auto slash = ref.rfind('/');
    const std::string subfolder = slash == std::string::npos ? "" : ref.substr(0, slash);
    const std::string name = slash == std::string::npos ? ref : ref.substr(slash + 1);
    const auto parts = split_subfolder(subfolder);
    if (!parts || !valid_upload_name(name)) {
        return core::make_error("invalid_upload", "LoadImage's image " + image_ref.substr(0, 300) +
                                                      " is not a name /upload/image gave");
    }
    fs::path path = account_dir(account_id) / "inputs";
    for (const std::string& p : *parts) path /= p;
    path /= name;
    auto bytes = read_whole(path, static_cast<std::uintmax_t>(1) << 40);
    if (!bytes) {
        return core::make_error("upload_not_found", "no upload named " + image_ref.substr(0, 300) +
                                                        ": upload it with /upload/image first");
    }
    return std::move(bytes).value();
}

core::Status FacadeFiles::put_prompt(const std::string& account_id, const std::string& job_id,
                                     const nlohmann::json& record) {
    TOLLGATE_ASSERT(valid_id(job_id));
    return write_whole(account_dir(account_id) / "prompts" / (job_id + ".json"), record.dump());
}

core::Result<std::optional<nlohmann::json>> FacadeFiles::get_prompt(
    const std::string& account_id, const std::string& job_id) const {
    if (!valid_id(job_id)) return std::optional<nlohmann::json>();
    const fs::path path = account_dir(account_id) / "prompts" / (job_id + ".json");
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::optional<nlohmann::json>();
    auto text = read_whole(path, kPromptFileBytesMax);
    if (!text) return core::make_error("storage_error", "cannot read " + path.string());
    nlohmann::json record = nlohmann::json::parse(*text, nullptr, false);
    if (!record.is_object())
        return core::make_error("storage_error", path.string() + " is damaged");
    return std::optional<nlohmann::json>(std::move(record));
}

core::Result<std::vector<std::string>> FacadeFiles::prompt_ids(const std::string& account_id,
                                                               std::size_t limit) const {
    limit = std::min(limit, kPromptsListedMax);
    std::vector<std::string> ids;
    std::error_code ec;
    const fs::path dir = account_dir(account_id) / "prompts";
    if (!fs::exists(dir, ec)) return ids;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        const std::string file = it->path().filename().string();
        if (!file.ends_with(".json") || file.front() == '.') continue;
        ids.push_back(file.substr(0, file.size() - 5));
    }
    if (ec) return storage_error("cannot list " + dir.string(), ec);
    // Job ids sort in the order they were made.
    std::sort(ids.begin(), ids.end());
    if (ids.size() > limit) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(limit));
    return ids;
}

}  // namespace tollgate::http::facade
