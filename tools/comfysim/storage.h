// comfysim's files: the input, temp and output folders under one data dir.
//
// Reproduces ComfyUI's folder rules: uploads dedupe by content and otherwise
// rename to "name (1).ext"; /view rejects "..", absolute names and subfolders
// that escape; LoadImage names may carry a " [output]" style annotation;
// SaveImage counters continue past files already on disk. Every path handed
// out stays inside its folder. Thread-safe: uploads serialise on a mutex, the
// rest only reads the file system.
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "comfysim/py_format.h"
#include "core/result.h"

namespace tollgate::comfysim {

enum class FolderType { Input, Temp, Output };

std::optional<FolderType> folder_type_from(std::string_view name);
const char* folder_type_name(FolderType type);

struct UploadRequest {
    std::optional<std::string> type;  // form field "type"; absent means input
    std::string subfolder;
    std::optional<std::string> filename;  // nullopt: no "image" file part
    std::string data;
    std::string overwrite;  // "true" or "1" replaces
};

// `body` is null when ComfyUI answers with an empty body.
struct Reply {
    int status = 200;
    Json body;
};

struct ViewTarget {
    int status = 200;  // 200: `path` exists; otherwise the error status
    std::filesystem::path path;
    std::string filename;  // base name, for Content-Disposition
};

struct SaveTarget {
    std::filesystem::path path;
    std::string filename;
    std::string subfolder;
};

class Storage {
  public:
    // Creates root/input, root/temp and root/output.
    explicit Storage(std::filesystem::path root);

    std::filesystem::path dir(FolderType type) const;

    // POST /upload/image semantics.
    Reply upload(const UploadRequest& request);

    // GET /view path resolution; `type` and `subfolder` are the query values.
    ViewTarget locate_view(const std::string& filename, const std::optional<std::string>& type,
                           const std::optional<std::string>& subfolder) const;

    // Resolves a LoadImage name ("sub/x.png", "x.png [output]"); nullopt when
    // the name escapes its folder.
    std::optional<std::filesystem::path> annotated_path(const std::string& name) const;
    bool image_exists(const std::string& name) const;

    // Image files directly in the input folder, sorted (LoadImage's choices).
    std::vector<std::string> input_files() const;

    // Where SaveImage writes next for `prefix` ("ddcolor/person" gives
    // subfolder "ddcolor", file "person_00001_.png"). Creates the subfolder.
    // Fails when the prefix escapes the folder, as ComfyUI raises.
    core::Result<SaveTarget> next_save_target(const std::string& prefix, FolderType type) const;

  private:
    std::filesystem::path root_;
    std::mutex upload_mu_;
};

// True when `path` (normalised) is `base` or inside it.
bool path_within(const std::filesystem::path& base, const std::filesystem::path& path);

// A MIME type guessed from the file name, as Python's mimetypes does for images.
std::string guess_content_type(const std::string& filename);

}  // namespace tollgate::comfysim
