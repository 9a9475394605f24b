// File handling follows ComfyUI's server.py and folder_paths.py. Paths are
// checked lexically (normalise, then compare component by component) rather
// than with realpath, matching ComfyUI's os.path.commonpath checks; the data
// dir is ours, so symlinks inside it are not a concern.
#include "comfysim/storage.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>

namespace tollgate::comfysim {
namespace fs = std::filesystem;
namespace {

std::optional<std::string> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), {});
}

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::optional<FolderType> folder_type_from(std::string_view name) {
    if (name == "input") return FolderType::Input;
    if (name == "temp") return FolderType::Temp;
    if (name == "output") return FolderType::Output;
    return std::nullopt;
}

const char* folder_type_name(FolderType type) {
    switch (type) {
        case FolderType::Input:
            return "input";
        case FolderType::Temp:
            return "temp";
        case FolderType::Output:
            return "output";
    }
    return "input";
}

bool path_within(const fs::path& base, const fs::path& path) {
    const fs::path b = base.lexically_normal();
    const fs::path p = path.lexically_normal();
    auto bi = b.begin();
    auto pi = p.begin();
    for (; bi != b.end(); ++bi, ++pi) {
        if (bi->empty()) continue;  // trailing separator
        if (pi == p.end() || *bi != *pi) return false;
    }
    for (; pi != p.end(); ++pi) {
        if (*pi == "..") return false;
    }
    return true;
}

std::string guess_content_type(const std::string& filename) {
    const std::string ext = lower(fs::path(filename).extension().string());
    if (ext == ".png") return "image/png";
    if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
    if (ext == ".webp") return "image/webp";
    if (ext == ".gif") return "image/gif";
    if (ext == ".bmp") return "image/bmp";
    if (ext == ".tif" || ext == ".tiff") return "image/tiff";
    if (ext == ".avif") return "image/avif";
    if (ext == ".heic") return "image/heic";
    if (ext == ".json") return "application/json";
    if (ext == ".txt") return "text/plain";
    return "application/octet-stream";
}

Storage::Storage(fs::path root) : root_(fs::absolute(std::move(root)).lexically_normal()) {
    for (auto t : {FolderType::Input, FolderType::Temp, FolderType::Output}) {
        std::error_code ec;
        fs::create_directories(dir(t), ec);
    }
}

fs::path Storage::dir(FolderType type) const { return root_ / folder_type_name(type); }

Reply Storage::upload(const UploadRequest& request) {
    FolderType type = FolderType::Input;
    if (request.type) {
        auto t = folder_type_from(*request.type);
        // ComfyUI's get_dir_by_type leaves its variable unbound: HTTP 500.
        if (!t) return {500, nullptr};
        type = *t;
    }
    if (!request.filename || request.filename->empty()) return {400, nullptr};
    const fs::path base = dir(type);
    const fs::path folder =
        (base / fs::path(request.subfolder).lexically_normal()).lexically_normal();
    std::string filename = *request.filename;
    fs::path filepath = (folder / filename).lexically_normal();
    if (!path_within(base, filepath) || filepath == base) return {400, nullptr};

    std::lock_guard lock(upload_mu_);
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) return {500, nullptr};
    const std::string ext = fs::path(filename).extension().string();
    const std::string stem = filename.substr(0, filename.size() - ext.size());
    bool duplicate = false;
    const bool overwrite = request.overwrite == "true" || request.overwrite == "1";
    for (int i = 1; !overwrite && fs::exists(filepath); ++i) {
        if (read_file(filepath) == request.data) {
            duplicate = true;
            break;
        }
        filename = stem + " (" + std::to_string(i) + ")" + ext;
        filepath = (folder / filename).lexically_normal();
    }
    if (!duplicate) {
        std::ofstream out(filepath, std::ios::binary | std::ios::trunc);
        out.write(request.data.data(), static_cast<std::streamsize>(request.data.size()));
        if (!out) return {500, nullptr};
    }
    return {200, Json{{"name", filename},
                      {"subfolder", request.subfolder},
                      {"type", folder_type_name(type)}}};
}

ViewTarget Storage::locate_view(const std::string& raw_filename,
                                const std::optional<std::string>& type,
                                const std::optional<std::string>& subfolder) const {
    std::string filename = raw_filename;
    std::optional<FolderType> folder;
    for (auto t : {FolderType::Output, FolderType::Input, FolderType::Temp}) {
        const std::string tag = std::string("[") + folder_type_name(t) + "]";
        if (ends_with(filename, tag)) {
            filename =
                filename.substr(0, filename.size() - std::min(filename.size(), tag.size() + 1));
            folder = t;
            break;
        }
    }
    if (filename.empty()) return {400, {}, {}};
    if (filename[0] == '/' || filename.find("..") != std::string::npos) return {400, {}, {}};
    if (!folder) {
        folder = folder_type_from(type.value_or("output"));
        if (!folder) return {400, {}, {}};
    }
    fs::path out_dir = dir(*folder);
    if (subfolder) {
        const fs::path full = out_dir / *subfolder;
        if (!path_within(out_dir, full)) return {403, {}, {}};
        out_dir = full.lexically_normal();
    }
    const std::string base = fs::path(filename).filename().string();
    const fs::path file = out_dir / base;
    std::error_code ec;
    if (base.empty() || !fs::is_regular_file(file, ec)) return {404, {}, {}};
    return {200, file, base};
}

std::optional<fs::path> Storage::annotated_path(const std::string& raw_name) const {
    std::string name = raw_name;
    FolderType type = FolderType::Input;
    for (auto t : {FolderType::Output, FolderType::Input, FolderType::Temp}) {
        const std::string tag = std::string("[") + folder_type_name(t) + "]";
        if (ends_with(name, tag)) {
            name = name.substr(0, name.size() - std::min(name.size(), tag.size() + 1));
            type = t;
            break;
        }
    }
    const fs::path base = dir(type);
    const fs::path p = (base / name).lexically_normal();
    if (name.empty() || !path_within(base, p) || p == base) return std::nullopt;
    return p;
}

bool Storage::image_exists(const std::string& name) const {
    auto p = annotated_path(name);
    std::error_code ec;
    return p && fs::is_regular_file(*p, ec);
}

std::vector<std::string> Storage::input_files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir(FolderType::Input), ec)) {
        if (!entry.is_regular_file(ec)) continue;
        const std::string name = entry.path().filename().string();
        if (guess_content_type(name).rfind("image/", 0) == 0) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

core::Result<SaveTarget> Storage::next_save_target(const std::string& prefix,
                                                   FolderType type) const {
    const fs::path base = dir(type);
    const fs::path normal = fs::path(prefix).lexically_normal();
    std::string subfolder = normal.parent_path().string();
    std::string stem = normal.filename().string();
    const fs::path folder = (base / subfolder).lexically_normal();
    if (!path_within(base, folder) || fs::path(subfolder).is_absolute()) {
        return core::make_error("save_outside_output",
                                "**** ERROR: Saving image outside the output folder is not allowed."
                                "\n full_output_folder: " +
                                    folder.string() + "\n         output_dir: " + base.string() +
                                    "\n         commonpath: " + base.parent_path().string());
    }
    std::error_code ec;
    fs::create_directories(folder, ec);
    std::int64_t counter = 0;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() <= stem.size() + 1 || name.compare(0, stem.size(), stem) != 0 ||
            name[stem.size()] != '_') {
            continue;
        }
        const std::string rest = name.substr(stem.size() + 1);
        const std::string digits = rest.substr(0, rest.find('_'));
        std::int64_t n = 0;
        if (!digits.empty() && digits.size() < 18 &&
            std::all_of(digits.begin(), digits.end(),
                        [](char c) { return c >= '0' && c <= '9'; })) {
            n = std::stoll(digits);
        }
        // ComfyUI only counts names whose prefix part ends in '_' (it is).
        counter = std::max(counter, n);
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "_%05lld_.png", static_cast<long long>(counter + 1));
    SaveTarget t;
    t.filename = stem + buf;
    t.subfolder = subfolder == "." ? "" : subfolder;
    t.path = folder / t.filename;
    return t;
}

}  // namespace tollgate::comfysim
