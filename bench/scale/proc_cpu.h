// CPU time from /proc, read at the edges of a measured window, so that each
// figure of bench/scale can say what bounded it: how many of the machine's
// cores were busy (and waiting on the disk), and how much CPU each watched
// process (gateway, worker, Redis) spent per completed operation.
//
// Header-only; Linux only. Times are in clock ticks (sysconf(_SC_CLK_TCK)).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <iterator>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <system_error>
#include <utility>
#include <vector>

namespace tollgate::bench_scale {

struct MachineCpu {
    std::int64_t busy = 0;    // user, nice, system, irq, softirq, steal
    std::int64_t irq = 0;     // irq and softirq (part of busy; no process is charged)
    std::int64_t iowait = 0;  // idle while some task waits on I/O
    std::int64_t idle = 0;
};

// The first line of /proc/stat: every core together.
inline MachineCpu machine_cpu() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    std::int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                 steal = 0;
    in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    return MachineCpu{user + nice + system + irq + softirq + steal, irq + softirq, iowait, idle};
}

// utime + stime of one process (every thread), or -1 when it is gone.
inline std::int64_t process_cpu_ticks(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t paren = text.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    std::int64_t utime = 0, stime = 0;
    // After "pid (comm) ", field 3 (state) comes first; utime and stime are
    // fields 14 and 15.
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoll(field);
        if (i == 15) stime = std::stoll(field);
    }
    return utime + stime;
}

// Every process's name and CPU ticks (utime + stime, all its threads), by pid.
struct ProcessTicks {
    std::string comm;
    std::int64_t ticks = 0;
};
inline std::map<long, ProcessTicks> all_processes() {
    std::map<long, ProcessTicks> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "stat");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const std::size_t open = text.find('('), close = text.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close < open) continue;
        const long pid = std::stol(name);
        const std::int64_t ticks = process_cpu_ticks(pid);
        if (ticks < 0) continue;
        out[pid] = ProcessTicks{text.substr(open + 1, close - open - 1), ticks};
    }
    return out;
}

// The processes (grouped by name) that used the most CPU between two
// snapshots, leaving out `excluded` pids: "name:cores,name:cores" (at most
// `top`, each at least 0.01 cores), or "-". A process that started in
// between counts with all its ticks; one that ended in between is missed,
// and so are interrupts (MachineCpu::irq).
inline std::string busiest_others(const std::map<long, ProcessTicks>& before,
                                  const std::map<long, ProcessTicks>& after,
                                  const std::set<long>& excluded, double window_s,
                                  double ticks_per_s, std::size_t top = 4) {
    std::map<std::string, std::int64_t> by_name;
    for (const auto& [pid, p] : after) {
        if (excluded.count(pid)) continue;
        auto it = before.find(pid);
        const std::int64_t used = it == before.end() ? p.ticks : p.ticks - it->second.ticks;
        if (used > 0) by_name[p.comm] += used;
    }
    std::vector<std::pair<std::int64_t, std::string>> sorted;
    for (const auto& [name, ticks] : by_name) sorted.emplace_back(ticks, name);
    std::sort(sorted.rbegin(), sorted.rend());
    std::string out;
    for (std::size_t i = 0; i < sorted.size() && i < top; ++i) {
        const double cores = static_cast<double>(sorted[i].first) / ticks_per_s / window_s;
        if (cores < 0.01) break;
        std::string name = sorted[i].second;
        for (char& c : name) {
            if (c == ' ' || c == ',' || c == ':' || c == '=') c = '_';
        }
        char text[32];
        std::snprintf(text, sizeof text, "%.2f", cores);
        out += (out.empty() ? "" : ",") + name + ":" + text;
    }
    return out.empty() ? "-" : out;
}

inline double ticks_per_second() { return static_cast<double>(sysconf(_SC_CLK_TCK)); }

// This process's CPU time (every thread, user and system) in microseconds.
inline std::int64_t self_cpu_us() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto us = [](const timeval& t) { return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
    return us(usage.ru_utime) + us(usage.ru_stime);
}

}  // namespace tollgate::bench_scale
