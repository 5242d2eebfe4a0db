#!/usr/bin/env python3
"""The end of scripts/bench-e2e.sh: reads what the run left in $work (wrk outputs, loadgen's JSON, RSS samples)
and the figures the script exported, prints the comparison and every target of issue 8 (micro-benchmark figures
from bench/results/iml.json and service.json when `make bench` wrote them), and saves bench/results/e2e.json."""
import json
import os
import re
import sys
import time

env = os.environ
work = env["work"]
results = env["results"]


def num(name):
    return float(env[name])


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unknown wrk duration {text!r}")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[m.group(2)]


def parse_wrk(path):
    text = open(path).read()
    out = {"rps": float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1))}
    for q in ("50", "75", "90", "99"):
        out[f"p{q}_ms"] = ms(re.search(rf"^\s+{q}%\s+(\S+)", text, re.M).group(1))
    m = re.search(r"^\s+(\d+) requests in ([\d.]+\w+)", text, re.M)
    out["requests"] = int(m.group(1))
    out["duration_ms"] = ms(m.group(2))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(g) for g in m.groups()) if m else 0
    out["ok_2xx"] = out["requests"] - out["non_2xx"]  # wrk counts a status > 399 as non-2xx
    return out


def samples(path):
    try:
        return [int(line) for line in open(path) if line.strip()]
    except FileNotFoundError:
        return []


def micro(file, name):
    """real_time of one benchmark from a Google Benchmark JSON file, in microseconds (None when absent)."""
    path = os.path.join(results, file)
    try:
        doc = json.load(open(path))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    for b in doc.get("benchmarks", []):
        # UseRealTime() appends /real_time to the name.
        if b.get("name") in (name, name + "/real_time") and b.get("run_type", "iteration") == "iteration" \
                and "error_message" not in b:
            scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
            return b["real_time"] * scale
    return None


sb = parse_wrk(os.path.join(work, "wrk-switchboard.txt"))
direct = parse_wrk(os.path.join(work, "wrk-direct.txt"))
half = json.load(open(os.path.join(work, "half.json")))
half_direct = json.load(open(os.path.join(work, "half-direct.json")))
peak_samples = samples(os.path.join(work, "rss-peak.txt")) + samples(os.path.join(work, "rss-half.txt"))
connections = int(env["connections"])

peak_recorded = int(env["success_after_peak"]) - int(env["success_before"])
half_recorded = int(env["success_after_half"]) - int(env["success_after_peak"])
in_flight = peak_recorded - sb["ok_2xx"]
durability = {
    "wrk_peak": {
        "ok_2xx": sb["ok_2xx"],
        "recorded_success": peak_recorded,
        "recorded_not_success": int(env["other_after_peak"]),
        # wrk stops at its deadline without waiting for the requests in flight: the server finishes (and records)
        # up to one per connection that wrk never counts.
        "uncounted_in_flight": in_flight,
        "ok": 0 <= in_flight <= connections and int(env["other_after_peak"]) == 0,
    },
    "fixed_rate": {
        "ok_2xx": half["ok_2xx"],
        "recorded_success": half_recorded,
        "ok": half_recorded == half["ok_2xx"],
    },
    "restart": {
        "executions_before": int(env["total_before_restart"]),
        "executions_after": int(env["total_after_restart"]),
        "ok": env["total_before_restart"] == env["total_after_restart"],
    },
}

ratio = sb["rps"] / direct["rps"] if direct["rps"] else 0.0
# The server's CPU time (user + system, all threads) per request during the wrk load, and the share of the two
# cores it used: tells a CPU-bound server from one that waits (on fsync, on locks).
cpu_s = int(env["cpu_peak_ticks"]) / int(env["clock_ticks"])
sb["server_cpu_ms_per_request"] = cpu_s * 1e3 / sb["requests"] if sb["requests"] else None
sb["server_cpu_cores"] = cpu_s / (sb["duration_ms"] / 1e3)
# SQLite's group commit during the wrk load (from /metrics): how many COMMITs (one fsync each), how many
# transactions each carried, and how long a COMMIT took (mostly the fsync).
c0 = [float(x) for x in env.get("commits_before", "0 0 0").split()]
c1 = [float(x) for x in env.get("commits_after", "0 0 0").split()]
commits = c1[0] - c0[0]
sb["group_commit"] = {
    "commits": int(commits),
    "transactions": int(c1[1] - c0[1]),
    "mean_group_size": (c1[1] - c0[1]) / commits if commits else None,
    "mean_commit_ms": (c1[2] - c0[2]) * 1e3 / commits if commits else None,
}
rss = {
    "idle_mb": num("idle_rss_kb") / 1024,
    "idle_after_restart_mb": num("restart_idle_rss_kb") / 1024,
    "peak_sampled_mb": max(peak_samples) / 1024 if peak_samples else None,
    "peak_hwm_mb": num("hwm_kb_final") / 1024,
    "after_load_mb": num("after_load_rss_kb") / 1024,
}
startup = {"first_start_ms": num("first_start_ms"), "restart_ms": num("restart_ms")}

render_us = micro("iml.json", "BM_RenderMapper")
list_api_us = micro("service.json", "BM_ApiListConnectionsFirstPage")
resolve_uncached_us = micro("service.json", "BM_ResolveForRun_Uncached")
resolve_cached_us = micro("service.json", "BM_ResolveForRun_Cached")
errors = sb["non_2xx"] + sb["socket_errors"] + half["non_2xx"] + half["errors"]


def target(name, value, limit, unit, met=None, note=""):
    if met is None:
        met = value is not None and value <= limit
    return {"target": name, "value": value, "limit": limit, "unit": unit, "met": bool(met), "note": note}


targets = [
    target("throughput Switchboard / direct", ratio, 0.25, "ratio",
           met=ratio >= 0.25 and errors == 0 and all(d["ok"] for d in durability.values()),
           note=f"errors {errors}; durability {'ok' if all(d['ok'] for d in durability.values()) else 'FAILED'}"),
    target("p99 at half of peak", half["p99_ms"], 5.0, "ms",
           note=f"{half['rps']:.0f} req/s, open loop; upstream alone at that rate: p99 {half_direct['p99_ms']:.2f} ms"),
    target("idle RSS", rss["idle_mb"], 40.0, "MB"),
    target("peak RSS", rss["peak_hwm_mb"], 150.0, "MB"),
    target("start-up to /readyz", max(startup.values()), 200.0, "ms",
           note=f"first start {startup['first_start_ms']:.0f} ms, restart {startup['restart_ms']:.0f} ms"),
    target("list 10,000 connections, first page (API)", list_api_us / 1e3 if list_api_us else None, 20.0, "ms",
           note="BM_ApiListConnectionsFirstPage"),
    target("resolve a cached connection", resolve_cached_us, 2.0, "us",
           note=("BM_ResolveForRun_Cached" if resolve_cached_us is not None else
                 f"no cache yet; uncached {resolve_uncached_us:.1f} us" if resolve_uncached_us else "not measured")),
    target("render a 5-field mapper", render_us, 2.0, "us", note="BM_RenderMapper"),
]

report = {
    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "machine": {"cores": os.cpu_count(), "loadavg": open("/proc/loadavg").read().split()[:3]},
    "settings": {"duration_s": int(env["duration"]), "threads": int(env["threads"]), "connections": connections,
                 "half_rate_rps": int(env["half_rps"])},
    "switchboard": sb,
    "direct": direct,
    "ratio": ratio,
    "half_rate": half,
    "half_rate_direct": half_direct,
    "rss": rss,
    "startup": startup,
    "durability": durability,
    "database_bytes_after_load": int(env["db_bytes"]),
    "targets": targets,
}
os.makedirs(results, exist_ok=True)
with open(os.path.join(results, "e2e.json"), "w") as f:
    json.dump(report, f, indent=2)

print()
print(f"== Results (also in {os.path.join(results, 'e2e.json')})")
print(f"{'':24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}{'sock err':>9}")
for label, r in (("Switchboard (wrk)", sb), ("direct upstream (wrk)", direct)):
    print(f"{label:24}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['non_2xx']:>9}{r['socket_errors']:>9}")
print(f"{'Switchboard at half':24}{half['rps']:>10.0f}{half['p50_ms']:>10.2f}{half['p99_ms']:>10.2f}"
      f"{half['non_2xx']:>9}{half['errors']:>9}   (fixed rate {half['target_rps']:.0f}/s, latency from due time)")
print(f"{'direct at that rate':24}{half_direct['rps']:>10.0f}{half_direct['p50_ms']:>10.2f}{half_direct['p99_ms']:>10.2f}"
      f"{half_direct['non_2xx']:>9}{half_direct['errors']:>9}   (same loader: the floor of the loader and machine)")
print(f"ratio Switchboard / direct: {ratio:.3f}")
print(f"server CPU during the wrk load: {sb['server_cpu_ms_per_request']:.3f} ms per request, "
      f"{sb['server_cpu_cores']:.2f} of {os.cpu_count()} cores")
gc = sb["group_commit"]
if gc["commits"]:
    print(f"group commit during the wrk load: {gc['commits']} commits for {gc['transactions']} transactions, "
          f"{gc['mean_group_size']:.1f} per commit, {gc['mean_commit_ms']:.2f} ms per COMMIT (WAL write + fsync)")
print(f"RSS: idle {rss['idle_mb']:.1f} MB, peak {rss['peak_hwm_mb']:.1f} MB (VmHWM; sampled max "
      f"{rss['peak_sampled_mb'] or 0:.1f} MB), after load {rss['after_load_mb']:.1f} MB, "
      f"idle after restart {rss['idle_after_restart_mb']:.1f} MB")
print(f"start-up to /readyz: first start {startup['first_start_ms']:.1f} ms, restart {startup['restart_ms']:.1f} ms")
d = durability
print(f"durability: wrk 2xx {d['wrk_peak']['ok_2xx']}, executions recorded {d['wrk_peak']['recorded_success']} "
      f"(+{d['wrk_peak']['recorded_not_success']} not successful; {d['wrk_peak']['uncounted_in_flight']} in flight "
      f"when wrk stopped, answered but not counted by wrk: allowed 0..{connections})")
print(f"            fixed-rate 2xx {d['fixed_rate']['ok_2xx']}, executions recorded "
      f"{d['fixed_rate']['recorded_success']} (must be equal)")
print(f"            executions before restart {d['restart']['executions_before']}, after "
      f"{d['restart']['executions_after']}")
print()
print("== Targets (issue 8)")
for t in targets:
    value = "n/a" if t["value"] is None else f"{t['value']:.3g} {t['unit']}"
    sign = ">=" if t["unit"] == "ratio" else "<="
    status = "n/a " if t["value"] is None else "MET " if t["met"] else "MISS"
    print(f"  {status}  {t['target']:44} {value:>14}  (target {sign} {t['limit']:g} {t['unit']})"
          f"  {t['note']}")
if not all(x["ok"] for x in durability.values()):
    print("bench-e2e: the durability check failed", file=sys.stderr)
    sys.exit(1)
