// bench_export: how fast the usage exporter drains its outbox into a sink.
//
// Fills a fresh outbox (a SQLite file in --data-dir) with --records usage
// records in one transaction, spread over --accounts accounts and one day,
// then times Exporter::export_pending() shipping all of them to the sink
// --sink names (a [usage] export_to URL: PostgreSQL or ClickHouse), in batches
// of --batch. Afterwards it reads the sink's totals back and checks that
// they count every record exactly once (the sink table must start empty: use
// a fresh database). Prints one line for people and one RESULT line.
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "app/usage_export.h"
#include "store/sqlite.h"
#include "usage/export/exporter.h"
#include "usage/export/outbox.h"
#include "usage/sqlite/sqlite_usage_outbox.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace {

using namespace tollgate;

usage::UsageRecord record(std::int64_t i, std::int64_t accounts, std::int64_t day_ms) {
    usage::UsageRecord r;
    r.job_id = "job_bench_" + std::to_string(i);
    r.account_id = "acct_bench_" + std::to_string(i % accounts);
    r.workflow = i % 3 == 0 ? "building" : "person";
    r.width = 800 + i % 400;
    r.height = 600 + i % 300;
    r.tokens = 10 + i % 7;
    r.quoted_tokens = r.tokens;
    r.book_version = "bench-1";
    r.md5_hex = "0123456789abcdef0123456789abcdef";
    r.sha256_hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    r.worker = "http://10.0.0." + std::to_string(i % 8) + ":8188";
    r.queue_wait_ms = i % 50;
    r.execution_ms = 1000 + i % 2000;
    r.outcome = i % 20 == 0 ? "failed" : "succeeded";
    if (r.outcome == "failed") {
        r.tokens = 0;
        r.failure_reason = "execution_failed: out of memory";
    }
    r.finished_ms = day_ms + i % usage::kMsPerDay;
    r.vram_peak_bytes = (2ll << 30) + i;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bench_export: usage records per second from the outbox into a sink"};
    std::string sink_url, data_dir;
    std::int64_t records = 100'000, accounts = 1'000;
    std::size_t batch = 1'000;
    app.add_option("--sink", sink_url, "a [usage] export_to URL")->required();
    app.add_option("--data-dir", data_dir, "an empty directory for the outbox")->required();
    app.add_option("--records", records, "records to export")->check(CLI::Range(1, 10'000'000));
    app.add_option("--accounts", accounts, "accounts they spread over")
        ->check(CLI::Range(1, 1'000'000));
    app.add_option("--batch", batch, "records per batch")
        ->check(CLI::Range(1, static_cast<int>(usage::kOutboxPageMax)));
    CLI11_PARSE(app, argc, argv);

    const std::string path = (std::filesystem::path(data_dir) / "outbox.db").string();
    if (std::filesystem::exists(path)) {
        std::cerr << path << " exists: give an empty directory\n";
        return 2;
    }
    auto db = store::Database::open(path).value();
    auto local = usage::SqliteUsageSink::open(*db).value();
    auto outbox = usage::SqliteUsageOutbox::open(*db).value();
    const std::int64_t day_ms = 20'000 * usage::kMsPerDay;
    std::int64_t expected_tokens = 0;
    core::Status filled = store::transact(*db, [&]() -> core::Status {
        for (std::int64_t i = 0; i < records; ++i) {
            usage::UsageRecord r = record(i, accounts, day_ms);
            expected_tokens += r.tokens;
            if (auto s = local->write(r); !s.ok()) return s;
        }
        return {};
    });
    if (!filled.ok()) {
        std::cerr << "fill: " << filled.error().message << "\n";
        return 2;
    }

    auto sink = app::make_usage_sink(sink_url);
    if (!sink.ok()) {
        std::cerr << sink.error().message << "\n";
        return 2;
    }
    const std::string name = (*sink)->name();
    if (auto s = (*sink)->prepare(); !s.ok()) {
        std::cerr << name << ": " << s.error().message << "\n";
        return 2;
    }
    std::vector<std::unique_ptr<usage::RemoteSink>> sinks;
    sinks.push_back(std::move(sink).value());
    usage::ExporterOptions options;
    options.batch_max = batch;
    usage::Exporter exporter(*outbox, std::move(sinks), options);

    const auto start = std::chrono::steady_clock::now();
    auto shipped = exporter.export_pending(0);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!shipped.ok()) {
        std::cerr << name << ": " << shipped.error().message << "\n";
        return 1;
    }

    // Everything once: the sink's totals add up to what was written.
    auto check = app::make_usage_sink(sink_url).value();
    auto totals = check->day_totals(day_ms - usage::kMsPerDay, day_ms + 2 * usage::kMsPerDay);
    if (!totals.ok()) {
        std::cerr << name << ": totals: " << totals.error().message << "\n";
        return 1;
    }
    std::int64_t jobs = 0, tokens = 0;
    for (const usage::DayTotal& t : *totals) {
        jobs += t.jobs;
        tokens += t.tokens;
    }
    const bool exact = jobs == records && tokens == expected_tokens && *shipped == records;
    const auto rows_per_s = static_cast<std::int64_t>(static_cast<double>(*shipped) / seconds);
    std::cout << name << ": " << *shipped << " records in " << seconds << " s, " << rows_per_s
              << " records/s, batches of " << batch << (exact ? "" : ", TOTALS DO NOT MATCH")
              << "\n";
    std::cout << "RESULT sink=" << name << " records=" << *shipped << " batch=" << batch
              << " ms=" << static_cast<std::int64_t>(seconds * 1000)
              << " records_per_s=" << rows_per_s << " sink_jobs=" << jobs
              << " sink_tokens=" << tokens << " expected_tokens=" << expected_tokens
              << " exact=" << (exact ? 1 : 0) << std::endl;
    return exact ? 0 : 1;
}
