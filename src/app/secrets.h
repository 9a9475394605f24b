// Signing secrets kept in the data directory, so signed result links and
// webhook signing keys survive restarts without being configured.
//
// A secret file holds 64 lowercase hex characters (32 random bytes from the
// OS CSPRNG) and is created once with mode 0600, written and fsynced under a
// temporary name, then linked into place, so two starts racing on one data
// dir agree on one secret and a crash never leaves a half-written one.
// Called at start, on one thread.
#pragma once

#include <string>

#include "core/result.h"

namespace tollgate::app {

// The secret in `path`, creating the file first if it does not exist.
// Errors: "storage_error" (cannot read or create), "invalid_secret_file"
// (the file exists but is not 64 hex characters).
core::Result<std::string> load_or_create_secret(const std::string& path);

}  // namespace tollgate::app
