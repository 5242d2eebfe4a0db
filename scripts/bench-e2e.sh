#!/usr/bin/env bash
# The reference end-to-end workload (docs/performance.md, bench/e2e/): a webhook scenario that calls an API with a
# stored API-key connection and answers with the API's data, loaded with wrk, beside the same API called directly.
#
# Usage: scripts/bench-e2e.sh [BUILD_DIR]     (default: build/; needs switchboard and bench/loadgen built there)
# Environment: BENCH_DURATION  seconds of each load (default 20)
#              BENCH_RESULTS   where e2e.json goes (default bench/results/)
#              BENCH_PROFILE   strace | perf | callgrind: instead of the measurement, profile the webhook path under
#                              load and write bench/results/profile-<tool>.txt (docs/performance.md, "Profile")
#
# In one run: start nginx (bench/e2e/upstream.conf) on 127.0.0.1:9181; start `switchboard serve` on SQLite in a
# temp data dir on a free loopback port and time exec → first 200 of /readyz; read its idle RSS; create the
# connection and the scenario through the API and start it; load the webhook with wrk while sampling RSS; load
# the upstream directly with the same wrk settings; load the webhook at half of the measured peak with a fixed
# rate (bench/loadgen, open loop) for p99, and the upstream at that same rate (the floor of the loader and of this
# shared machine); compare the executions recorded with the 2xx answers; restart on the
# same data and time it again. Everything targets 127.0.0.1 and every load is bounded in time.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
duration=${BENCH_DURATION:-20}
results=${BENCH_RESULTS:-$root/bench/results}
e2e=$root/bench/e2e
sb=$build/switchboard
loadgen=$build/bench/loadgen
upstream_port=9181
threads=2
connections=32

fail() {
    echo "bench-e2e: $*" >&2
    exit 1
}
[ -x "$sb" ] || fail "$sb is missing: build it first (make bench does)"
[ -x "$loadgen" ] || fail "$loadgen is missing: build the loadgen target first (make bench does)"
command -v wrk >/dev/null || fail "wrk is missing (Debian package wrk; scripts/install-deps.sh test installs it)"
nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || nginx_bin=/usr/sbin/nginx
[ -x "$nginx_bin" ] || fail "nginx is missing (Debian package nginx; scripts/install-deps.sh test installs it)"
command -v sqlite3 >/dev/null || fail "sqlite3 is missing"
if (exec 3<>/dev/tcp/127.0.0.1/$upstream_port) 2>/dev/null; then
    fail "something already listens on 127.0.0.1:$upstream_port (the upstream's port); stop it first"
fi

work=$(mktemp -d /tmp/sb-bench-e2e.XXXXXX)
data=$work/data
mkdir -p "$work/nginx" "$data" "$results"
pid=""
sampler=""
cleanup() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

json_get() {  # json_get a.b.c < document
    python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1"
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# ---- the upstream --------------------------------------------------------------------------------------------
"$nginx_bin" -e stderr -p "$work/nginx" -c "$e2e/upstream.conf" -g "pid $work/nginx/nginx.pid;"
for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Api-Key: test-key-123' "http://127.0.0.1:$upstream_port/v1/me" || true)
    [ "$code" = 200 ] && break
    sleep 0.05
done
[ "$code" = 200 ] || fail "nginx did not answer on 127.0.0.1:$upstream_port"

# ---- Switchboard: start-up time and idle RSS -------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
profile=${BENCH_PROFILE:-}
wrapper=()
ready_timeout=10000
if [ "$profile" = callgrind ]; then
    command -v valgrind >/dev/null || fail "valgrind is missing"
    wrapper=(valgrind --tool=callgrind --callgrind-out-file="$results/callgrind.out" ${BENCH_CALLGRIND_ARGS:-})
    ready_timeout=120000
fi
start_server() {  # sets pid and startup_ms
    local t0 t1
    t0=$(date +%s%N)
    "${wrapper[@]}" "$sb" serve --data-dir "$data" --listen "127.0.0.1:$port" --allow-private-network \
        >>"$work/serve.out" 2>>"$work/serve.log" &
    pid=$!
    t1=$("$loadgen" ready "$base/readyz" --timeout-ms $ready_timeout) || { tail -20 "$work/serve.log" >&2; fail "no /readyz"; }
    startup_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
}
stop_server() {
    kill -TERM "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "switchboard did not stop within 30 s"
    wait "$pid" 2>/dev/null || true
    pid=""
}

echo "== Switchboard $("$sb" --version 2>/dev/null | head -1) on SQLite, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_server
first_start_ms=$startup_ms
sleep 1
idle_rss_kb=$(rss_kb "$pid")
echo "start-up to /readyz (first start, empty data dir): $first_start_ms ms; idle RSS $((idle_rss_kb / 1024)) MB"

token=$(grep -o 'sbt_[A-Za-z0-9_-]*' "$work/serve.out" | head -1)
team=$(sed -n 's/.*admin of team ".*", id \([0-9][0-9]*\)).*/\1/p' "$work/serve.out" | head -1)
[ -n "$token" ] && [ -n "$team" ] || fail "no first-start token/team on stdout"
auth="Authorization: Token $token"

api() {  # api METHOD PATH [BODY]
    local out code
    out=$(curl -sS -X "$1" -H "$auth" -H 'Content-Type: application/json' -w '\n%{http_code}' \
        ${3:+--data "$3"} "$base$2")
    code=${out##*$'\n'}
    [[ "$code" == 2* ]] || fail "$1 $2 answered $code: ${out%$'\n'*}"
    printf '%s' "${out%$'\n'*}"
}

conn=$(api POST "/api/v2/connections?teamId=$team" \
    '{"accountName":"Upstream API","accountType":"http-apikey","apiKey":"test-key-123","apiKeyIn":"header","apiKeyName":"X-Api-Key"}' |
    json_get connection.id)
blueprint='{"name":"Webhook to API","flow":[
 {"id":1,"module":"gateway:CustomWebHook","version":1,"parameters":{"hook":1},"mapper":null},
 {"id":2,"module":"http:ActionSendData","version":3,"parameters":{"__IMTCONN__":'$conn'},
  "mapper":{"url":"http://127.0.0.1:9181/v1/items/{{1.item}}","method":"get","parseResponse":true}},
 {"id":3,"module":"gateway:WebhookRespond","version":1,
  "mapper":{"status":200,"body":"{\"item\": {{toString(2.data)}}, \"requested\": {{1.item}}}",
            "headers":[{"key":"Content-Type","value":"application/json"}]}}],
 "metadata":{"instant":true}}'
created=$(api POST "/api/v2/scenarios?teamId=$team" "{\"name\":\"Webhook to API (bench)\",\"blueprint\":$blueprint}")
scenario=$(json_get scenario.id <<<"$created")
hook=$(json_get scenario.hookUrl <<<"$created" | sed 's|^[a-z]*://[^/]*||')
api POST "/api/v2/scenarios/$scenario/start" >/dev/null
echo "connection $conn, scenario $scenario, webhook $base${hook:0:14}…"

reply=$(curl -sS -X POST -H 'Content-Type: application/json' --data '{"item":7}' "$base$hook")
[[ "$reply" == *'"requested": 7'* && "$reply" == *'"name":"widget"'* ]] || fail "unexpected webhook answer: $reply"

db() { sqlite3 -cmd '.timeout 10000' "$data/switchboard.db" "$1"; }
recorded() {  # executions of the scenario with this status, once no run of it is queued or running (≤ 30 s)
    for _ in $(seq 300); do
        [ "$(db "SELECT count(*) FROM executions WHERE scenario_id = $scenario AND status IN ('queued','running')")" = 0 ] && break
        sleep 0.1
    done
    db "SELECT count(*) FROM executions WHERE scenario_id = $scenario AND status = '$1'"
}
sample_rss() {  # VmRSS every 100 ms into $1 until killed
    while :; do rss_kb "$pid" >>"$1" 2>/dev/null || break; sleep 0.1; done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
commit_figures() {  # "commits transactions seconds" of SQLite's group commit, from /metrics
    curl -sS "$base/metrics" | awk '/^switchboard_db_commits_total / {c = $2}
        /^switchboard_db_committed_transactions_total / {t = $2} /^switchboard_db_commit_seconds_total / {s = $2}
        END {print c + 0, t + 0, s + 0}'
}

if [ -n "$profile" ]; then
    out=$results/profile-$profile.txt
    case $profile in
    strace)
        # Every system call of the server's threads during exactly 1,000 webhook requests (fixed rate, so the count
        # per request is exact); strace slows the server, so the rate is low.
        command -v strace >/dev/null || fail "strace is missing"
        strace -f -c -o "$work/strace.txt" -p "$pid" 2>/dev/null &
        tracer=$!
        sleep 1
        timeout 120 "$loadgen" rate "$base$hook" --rate 100 --duration 10 --connections 8
        kill -INT "$tracer"
        wait "$tracer" 2>/dev/null || true
        # Then the duration of each fdatasync (the commits' and the checkpoints' waits) over another 1,000.
        strace -f -T -e trace=fdatasync,fsync -o "$work/fsync.txt" -p "$pid" 2>/dev/null &
        tracer=$!
        sleep 1
        timeout 120 "$loadgen" rate "$base$hook" --rate 100 --duration 10 --connections 8 >/dev/null
        kill -INT "$tracer"
        wait "$tracer" 2>/dev/null || true
        {
            echo "strace -f -c of switchboard serve during 1000 webhook requests (100/s, 8 connections)"
            cat "$work/strace.txt"
            echo
            echo "fdatasync/fsync durations (strace -T) during another 1000 webhook requests:"
            for fd in /proc/"$pid"/fd/*; do echo "${fd##*/} $(readlink "$fd")"; done >"$work/fds.txt"
            python3 -c 'import re, sys
files = dict(line.split(" ", 1) for line in open(sys.argv[2]).read().splitlines() if " " in line)
calls = [(m.group(1), float(m.group(2)) * 1e3)
         for m in re.finditer(r"f(?:data)?sync\((\d+)\).*<([\d.]+)>", open(sys.argv[1]).read())]
def show(label, d):
    d = sorted(d)
    q = lambda p: d[min(len(d) - 1, int(p * len(d)))]
    print(f"  {label}: {len(d)} calls ({len(d) / 1000:.3f} per request), {sum(d):.0f} ms in all "
          f"({sum(d) / 1000:.3f} ms per request); p50 {q(0.5):.3f} ms  p99 {q(0.99):.3f} ms  max {d[-1]:.3f} ms")
show("all", [t for _, t in calls])
for fd in sorted({fd for fd, _ in calls}):
    show(files.get(fd, "fd " + fd).split("/")[-1], [t for f, t in calls if f == fd])' "$work/fsync.txt" "$work/fds.txt"
        } >"$out"
        ;;
    perf)
        # On-CPU samples (cpu-clock: this VM has no hardware counters) with DWARF call graphs, during a wrk load.
        command -v perf >/dev/null || fail "perf is missing (linux-perf)"
        perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -o "$results/perf.data" -p "$pid" \
            -- sleep "$duration" >/dev/null 2>&1 &
        recorder=$!
        timeout $((duration + 30)) wrk -t$threads -c$connections -d"${duration}s" -s "$e2e/post.lua" "$base$hook" |
            grep -E 'Requests/sec|requests in'
        wait "$recorder" || true
        {
            echo "perf record -e cpu-clock -F 499 --call-graph dwarf of switchboard serve during wrk -c$connections -d${duration}s"
            perf report -i "$results/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
                grep -v '^$' | head -40
            perf report -i "$results/perf.data" --stdio --no-children --sort symbol -g none --percent-limit 0.7 \
                2>/dev/null | grep -v '^$' | head -80
            perf report -i "$results/perf.data" --stdio --children --sort symbol -g none --percent-limit 3 \
                2>/dev/null | grep -v '^$' | head -80
        } | cut -c1-250 >"$out"
        ;;
    callgrind)
        # Instructions per request under valgrind (exact, whatever the machine's noise): 200 webhook requests.
        timeout 300 "$loadgen" rate "$base$hook" --rate 10 --duration 20 --connections 4
        stop_server
        {
            echo "callgrind of switchboard serve: start-up, set-up calls and 200 webhook requests (10/s)"
            callgrind_annotate --inclusive=yes "$results/callgrind.out" 2>/dev/null | head -120
            echo
            echo "== self cost"
            callgrind_annotate "$results/callgrind.out" 2>/dev/null | head -70
        } | cut -c1-250 >"$out"
        ;;
    *) fail "BENCH_PROFILE must be strace, perf or callgrind" ;;
    esac
    echo "profile written to $out (raw data: $results/perf.data or callgrind.out)"
    exit 0
fi

# ---- peak: wrk on the webhook ---------------------------------------------------------------------------------
success_before=$(recorded success)
echo
echo "== Switchboard webhook: wrk -t$threads -c$connections -d${duration}s --latency -s post.lua"
sample_rss "$work/rss-peak.txt" &
sampler=$!
cpu_before=$(cpu_ticks "$pid")
commits_before=$(commit_figures)
timeout $((duration + 30)) wrk -t$threads -c$connections -d"${duration}s" --latency -s "$e2e/post.lua" \
    "$base$hook" | tee "$work/wrk-switchboard.txt"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=""
cpu_peak_ticks=$(($(cpu_ticks "$pid") - cpu_before))
commits_after=$(commit_figures)
hwm_after_peak_kb=$(hwm_kb "$pid")
success_after_peak=$(recorded success)
other_after_peak=$(db "SELECT count(*) FROM executions WHERE scenario_id = $scenario AND status <> 'success'")

# ---- ceiling: wrk on the upstream directly --------------------------------------------------------------------
echo
echo "== Upstream directly: wrk -t$threads -c$connections -d${duration}s --latency -s direct.lua"
timeout $((duration + 30)) wrk -t$threads -c$connections -d"${duration}s" --latency -s "$e2e/direct.lua" \
    "http://127.0.0.1:$upstream_port" | tee "$work/wrk-direct.txt"

# ---- p99 at half of the peak: fixed rate, open loop --------------------------------------------------------------
peak_rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk-switchboard.txt")
half_rps=$(awk -v r="$peak_rps" 'BEGIN { printf "%.0f", r / 2 }')
[ "$half_rps" -ge 1 ] || fail "no peak rate measured"
echo
echo "== Switchboard webhook at half the peak: loadgen rate, $half_rps req/s for ${duration}s, $connections connections"
sample_rss "$work/rss-half.txt" &
sampler=$!
timeout $((duration + 60)) "$loadgen" rate "$base$hook" --rate "$half_rps" --duration "$duration" \
    --connections $connections --json "$work/half.json"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=""
success_after_half=$(recorded success)
echo
echo "== Upstream directly at the same fixed rate (the loader's and the machine's own floor)"
timeout $((duration + 60)) "$loadgen" rate "http://127.0.0.1:$upstream_port/v1/items/" --get \
    --header 'Authorization: Bearer test-key-123' --rate "$half_rps" --duration "$duration" \
    --connections $connections --json "$work/half-direct.json"
total_before_restart=$(db "SELECT count(*) FROM executions WHERE scenario_id = $scenario")
after_load_rss_kb=$(rss_kb "$pid")
hwm_kb_final=$(hwm_kb "$pid")

# ---- restart on the same data ---------------------------------------------------------------------------------
stop_server
start_server
restart_ms=$startup_ms
sleep 1
restart_idle_rss_kb=$(rss_kb "$pid")
total_after_restart=$(db "SELECT count(*) FROM executions WHERE scenario_id = $scenario")
db_bytes=$(du -cb "$data"/switchboard.db* | tail -1 | cut -f1)
stop_server

# ---- results ------------------------------------------------------------------------------------------------------
export work results duration threads connections first_start_ms restart_ms idle_rss_kb restart_idle_rss_kb \
    after_load_rss_kb hwm_after_peak_kb hwm_kb_final success_before success_after_peak success_after_half \
    other_after_peak total_before_restart total_after_restart half_rps db_bytes cpu_peak_ticks commits_before \
    commits_after
export clock_ticks=$(getconf CLK_TCK)
python3 "$root/scripts/bench_report.py"
