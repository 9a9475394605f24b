#include "app/usage_export.h"

#include <spdlog/spdlog.h>

#include "http/client/http_client.h"
#include "usage/export/clickhouse_sink.h"
#include "usage/export/postgres_sink.h"
#include "usage/export/sink_url.h"

namespace tollgate::app {
namespace {

// Statements and inserts get a minute; an answer (totals for reconcile) up to 64 MiB.
constexpr int kClickHouseTimeoutMs = 60'000;
constexpr std::size_t kClickHouseAnswerBytesMax = 64u << 20;

}  // namespace

core::Result<std::unique_ptr<usage::RemoteSink>> make_usage_sink(const std::string& text) {
    auto url = usage::parse_sink_url(text);
    if (!url.ok()) return url.error();
    if (url->kind == usage::SinkKind::Postgres) {
        return std::unique_ptr<usage::RemoteSink>(
            std::make_unique<usage::PostgresSink>(std::move(url).value()));
    }
    auto address = usage::parse_clickhouse_url(url->url);
    if (!address.ok()) return address.error();
    // The operator names the server: private and loopback addresses are fine.
    std::shared_ptr<http::HttpClient> client = http::make_http_client(http::Reach::Anywhere);
    http::HttpUrl base{address->host, address->port, "/"};
    usage::ClickHousePost post =
        [client, base](const std::string& target, const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers)
        -> core::Result<usage::ClickHouseAnswer> {
        http::HttpPost request;
        request.url = base;
        request.url.target = target;
        request.content_type = "text/plain; charset=utf-8";
        request.headers = headers;
        request.body = body;
        request.timeout_ms = kClickHouseTimeoutMs;
        request.answer_bytes_max = kClickHouseAnswerBytesMax;
        auto answer = client->post(request);
        if (!answer.ok()) return answer.error();
        return usage::ClickHouseAnswer{answer->status, std::move(answer->body)};
    };
    return std::unique_ptr<usage::RemoteSink>(std::make_unique<usage::ClickHouseSink>(
        std::move(url).value(), std::move(address).value(), std::move(post)));
}

core::Result<std::unique_ptr<usage::Exporter>> start_usage_export(const Config& config,
                                                                  usage::UsageOutbox& outbox) {
    if (config.usage_export_to.empty()) return std::unique_ptr<usage::Exporter>();
    std::vector<std::unique_ptr<usage::RemoteSink>> sinks;
    for (const std::string& text : config.usage_export_to) {
        auto sink = make_usage_sink(text);
        if (!sink.ok()) return sink.error();
        sinks.push_back(std::move(sink).value());
    }
    usage::ExporterOptions options;
    options.batch_max = static_cast<std::size_t>(config.usage_export_batch_max);
    options.interval_ms = config.usage_export_interval_ms;
    options.backoff_max_ms = config.usage_export_backoff_max_ms;
    // The first retry after 100 ms (the default) is within every allowed maximum.
    auto exporter = std::make_unique<usage::Exporter>(
        outbox, std::move(sinks), options, [](const std::string& sink, const core::Error& e) {
            spdlog::warn("usage export to {}: {}: {} (records wait in the outbox)", sink, e.code,
                         e.message);
        });
    for (const usage::ExportStats& s : exporter->stats()) {
        spdlog::info("usage export to {}", s.sink);
    }
    exporter->start();
    return exporter;
}

}  // namespace tollgate::app
