// What the ComfyUI facade keeps on disk for each account: the images it
// uploaded (/upload/image) and the prompts it queued (/prompt), under a root
// directory (the results directory's "facade", so that instances sharing the
// results directory share them too):
//   <root>/<account id>/inputs/<subfolder>/<name>
//   <root>/<account id>/prompts/<job id>.json
//
// Names and subfolders are the client's, checked: no absolute path, no "..",
// no control character, no hidden name, so nothing escapes the account's
// directory. Uploads follow ComfyUI's rules: the same name with the same
// bytes keeps the name, with other bytes becomes "name (1).ext" unless
// `overwrite`. Each account keeps its newest kUploadsPerAccountMax uploads;
// older ones are removed. Files are written whole (a temporary file renamed
// into place). Thread-safe as the file system is; plain C++.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::http::facade {

inline constexpr std::size_t kUploadsPerAccountMax = 1000;
inline constexpr std::size_t kUploadNameBytesMax = 200;
inline constexpr std::size_t kSubfolderDepthMax = 4;
inline constexpr int kRenamesMax = 1000;  // "name (1).ext" to "name (1000).ext"
inline constexpr std::size_t kPromptsListedMax = 1000;

struct StoredUpload {
    std::string name;
    std::string subfolder;
};

class FacadeFiles {
  public:
    explicit FacadeFiles(std::filesystem::path root);

    // Errors: "invalid_upload" (a bad name or subfolder), "storage_error".
    core::Result<StoredUpload> put_upload(const std::string& account_id,
                                          const std::string& subfolder, const std::string& filename,
                                          std::string_view bytes, bool overwrite);
    // The bytes LoadImage's `image_ref` names: "name" or "subfolder/name",
    // optionally followed by " [input]". Errors: "invalid_upload",
    // "upload_not_found" (never uploaded by this account, or removed).
    core::Result<std::string> read_upload(const std::string& account_id,
                                          const std::string& image_ref) const;

    core::Status put_prompt(const std::string& account_id, const std::string& job_id,
                            const nlohmann::json& record);
    // nullopt when this account queued no such prompt.
    core::Result<std::optional<nlohmann::json>> get_prompt(const std::string& account_id,
                                                           const std::string& job_id) const;
    // The account's newest `limit` prompt ids (at most kPromptsListedMax), oldest first.
    core::Result<std::vector<std::string>> prompt_ids(const std::string& account_id,
                                                      std::size_t limit) const;

  private:
    std::filesystem::path account_dir(const std::string& account_id) const;
    void trim_uploads(const std::filesystem::path& inputs) const;

    std::filesystem::path root_;
};

// Whether `name` may be an upload's file name or a subfolder component.
bool valid_upload_name(std::string_view name);

}  // namespace tollgate::http::facade
