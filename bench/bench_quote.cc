// bench_quote: quote() throughput on one thread, and heap allocations per quote.
//
// The book is generated here: 20 workflows with varied coefficients, quality
// levels, upscale lists and tiling; three time windows in Europe/Paris (one
// crossing midnight); and a tenant with a discount, its own minimum and
// overrides. 4096 requests are drawn up front from a fixed seed (sizes from
// 64 px to 8000 px, every factor and quality a workflow offers, a third of
// them for the tenant, instants spread over a week), so the loop measures
// quote() alone. A replaced global operator new counts allocations; the
// "allocs_per_quote" counter must read 0. A peer runs in the same process:
// SHA-256 of a request's identity; main() prints each quote rate against it.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "core/hash.h"
#include "pricing/price_book.h"
#include "pricing/quote.h"

namespace {
std::atomic<std::int64_t> g_allocations{0};
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace tollgate::pricing {
namespace {

constexpr int kWorkflows = 20;
constexpr std::size_t kRequests = 4096;  // a power of two: the loop masks its index

std::string workflow_name(int i) { return "capability_" + std::to_string(i); }

std::string generated_book() {
    std::string text =
        "version = \"bench-1\"\nrounding = \"floor\"\ntime_zone = \"Europe/Paris\"\n";
    for (int i = 0; i < kWorkflows; ++i) {
        const std::string table = "[workflows." + workflow_name(i) + "]\n";
        text += table;
        text += "base = " + std::to_string(2 + i) + "\n";
        text += "per_megapixel = " + std::to_string(i % 4) + ".25\n";
        text += "minimum = " + std::to_string(1 + i % 7) + "\n";
        if (i % 2 == 0) text += "upscale_surcharge = 3.5\nper_output_megapixel = 0.125\n";
        if (i % 3 == 0) text += "upscale_factors = [1, 1.5, 2, 4]\n";
        if (i % 4 == 0) text += "tile_side_px = 1024\nper_tile = 0.75\n";
        if (i % 5 != 4) {
            text += "model_input_size_range = [256, 2048]\ndefault_quality = \"standard\"\n";
            text += "[workflows." + workflow_name(i) + ".quality.draft]\nmodel_input_size = 256\n";
            text +=
                "[workflows." + workflow_name(i) + ".quality.standard]\nmodel_input_size = 512\n";
            text += "[workflows." + workflow_name(i) +
                    ".quality.high]\nmodel_input_size = 1024\nsurcharge = 2.5\n";
        }
    }
    text += "[[windows]]\nname = \"night\"\nstart = \"01:00\"\nend = \"07:00\"\nmultiplier = 0.8\n";
    text += "[[windows]]\nname = \"peak\"\nstart = \"19:00\"\nend = \"23:00\"\nmultiplier = 1.2\n";
    text += "[[windows]]\nname = \"late\"\nstart = \"23:30\"\nend = \"00:30\"\nmultiplier = 0.9\n";
    text += "[tenants.acme]\ndiscount_percent = 12.5\nminimum = 3\n";
    text += "[tenants.acme.workflows." + workflow_name(0) + "]\nbase = 1.5\n";
    text += "[tenants.acme.workflows." + workflow_name(7) + "]\nper_megapixel = 0.5\n";
    return text;
}

struct Fixture {
    PriceBook book;
    std::vector<std::string> names;
    std::vector<QuoteRequest> requests;
};

const Fixture& fixture() {
    static const Fixture* built = [] {
        auto* f = new Fixture;
        auto book = parse_price_book(generated_book(), "bench");
        if (!book.ok()) {
            std::fprintf(stderr, "bench book: %s\n", book.error().message.c_str());
            std::abort();
        }
        f->book = std::move(book).value();
        for (int i = 0; i < kWorkflows; ++i) f->names.push_back(workflow_name(i));
        std::mt19937_64 rng(20261129);
        std::uniform_int_distribution<std::int64_t> side(64, 8000);
        std::uniform_int_distribution<std::int64_t> week_ms(0, 7 * 86'400'000ll);
        const std::int64_t monday = 1'795'996'800'000;  // 2026-11-30T00:00:00Z
        for (std::size_t n = 0; n < kRequests; ++n) {
            const int i = static_cast<int>(rng() % kWorkflows);
            const WorkflowPrice& price = *f->book.find(f->names[static_cast<std::size_t>(i)]);
            QuoteRequest r;
            r.workflow = f->names[static_cast<std::size_t>(i)];
            r.width = side(rng);
            r.height = side(rng);
            if (!price.upscale_factors_milli.empty()) {
                r.upscale_factor_milli =
                    price.upscale_factors_milli[rng() % price.upscale_factors_milli.size()];
            } else {
                r.upscale_factor_milli = rng() % 2 == 0 ? 1000 : 2000;
            }
            if (!price.qualities.empty() && rng() % 2 == 0) {
                r.quality = price.qualities[rng() % price.qualities.size()].name;
            }
            if (rng() % 3 == 0) r.tenant = "acme";
            r.at_unix_ms = monday + week_ms(rng);
            f->requests.push_back(r);
        }
        return f;
    }();
    return *built;
}

void BM_Quote(benchmark::State& state) {
    const Fixture& f = fixture();
    std::size_t i = 0;
    std::int64_t failures = 0;
    const std::int64_t allocations_before = g_allocations.load();
    for (auto _ : state) {
        auto q = quote(f.book, f.requests[i++ & (kRequests - 1)]);
        failures += q.ok() ? 0 : 1;
        benchmark::DoNotOptimize(q);
    }
    const std::int64_t allocations = g_allocations.load() - allocations_before;
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["allocs_per_quote"] = benchmark::Counter(
        static_cast<double>(allocations) / static_cast<double>(state.iterations()));
    if (failures != 0) state.SkipWithError("a quote failed");
}
BENCHMARK(BM_Quote);

// The seed's request alone: the shortest path (no window, tenant or upscale).
void BM_QuoteSeedPortrait(benchmark::State& state) {
    const Fixture& f = fixture();
    QuoteRequest r;
    r.workflow = f.names[4];
    r.width = 800;
    r.height = 600;
    r.at_unix_ms = 1'796'036'400'000;  // 2026-11-30 12:00 Paris
    const std::int64_t allocations_before = g_allocations.load();
    for (auto _ : state) {
        auto q = quote(f.book, r);
        benchmark::DoNotOptimize(q);
    }
    const std::int64_t allocations = g_allocations.load() - allocations_before;
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["allocs_per_quote"] = benchmark::Counter(
        static_cast<double>(allocations) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_QuoteSeedPortrait);

// Peer, measured in the same run: SHA-256 of the request's identity (workflow,
// size, options), about 60 bytes. Every gateway request does at least this
// much work to identify itself; pricing should cost no more than that.
void BM_PeerSha256OfRequest(benchmark::State& state) {
    const std::string request = "workflow=person&w=800&h=600&upscale=1&quality=standard&t=acme";
    for (auto _ : state) {
        auto digest = core::sha256_hex(request);
        benchmark::DoNotOptimize(digest);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_PeerSha256OfRequest);

// Records each run's items per second so main() can print the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
  public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs) {
            auto it = run.counters.find("items_per_second");
            if (it != run.counters.end() && run.aggregate_name.empty()) {
                rates_[run.benchmark_name()] = it->second.value;
            } else if (it != run.counters.end() && run.aggregate_name == "median") {
                rates_[run.run_name.function_name] = it->second.value;
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
    double rate(const std::string& name) const {
        auto it = rates_.find(name);
        return it == rates_.end() ? 0 : it->second;
    }

  private:
    std::map<std::string, double> rates_;
};

}  // namespace
}  // namespace tollgate::pricing

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    tollgate::pricing::RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    const double peer = reporter.rate("BM_PeerSha256OfRequest");
    for (const char* name : {"BM_Quote", "BM_QuoteSeedPortrait"}) {
        const double rate = reporter.rate(name);
        if (peer > 0 && rate > 0) {
            std::printf("%s: %.2f M quotes/s, %.2fx the SHA-256-of-request peer (%.2f M/s)\n", name,
                        rate / 1e6, rate / peer, peer / 1e6);
        }
    }
    benchmark::Shutdown();
    return 0;
}
