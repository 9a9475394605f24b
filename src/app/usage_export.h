// Builds the usage exporter from [usage] and starts its threads.
#pragma once

#include <memory>

#include "app/config.h"
#include "core/result.h"
#include "usage/export/exporter.h"

namespace tollgate::app {

// The sink a [usage] export_to URL names: PostgreSQL through libpq, or
// ClickHouse over HTTP. Errors: "invalid_sink_url".
core::Result<std::unique_ptr<usage::RemoteSink>> make_usage_sink(const std::string& url);

// Nullptr when [usage] export_to names no sink. Each sink prepares its table
// on its own thread: a sink that is down at start delays nothing.
core::Result<std::unique_ptr<usage::Exporter>> start_usage_export(const Config& config,
                                                                  usage::UsageOutbox& outbox);

}  // namespace tollgate::app
