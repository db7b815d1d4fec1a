#!/usr/bin/env bash
# Soak: does anything grow while faults come and go? A simulated fleet and one real agent stream
# into a collector on a real influxd for --duration, while faults are injected at random:
#   influxd killed (SIGKILL) and started again after 10-60 s;
#   influxd frozen (SIGSTOP) for 5-30 s, then thawed: a store that is slow, not gone;
#   the simulated fleet killed (SIGKILL) and started again: every stream dies at once and
#   reconnects in a storm.
# One fault every 30-90 s, chosen by a seeded random generator (--seed). Every 15 s the
# collector's and the agent's RSS, threads and open fds, the collector's heap and what it holds
# (unacked reports, points waiting for InfluxDB) go to a CSV. At the end the agent is stopped and
# every report it took must be in InfluxDB (seq 1..last, no gap).
#
#   bench/soak.sh [--duration 30m] [--hosts 300] [--interval 5s] [--seed 1] [--out bench/results]
#                 [--no-build]
#
# Loopback only; stops by itself; kills and removes everything it started. Not run by bin/test.
# Output: markdown on stdout and in <out>/soak-<date>.md; the CSV and logs beside it.
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$ROOT/bin/lib/java.sh"
. "$ROOT/bench/lib/bench.sh"
DURATION=30m
HOSTS=300
INTERVAL=5s
SEED=1
OUT="$ROOT/bench/results"
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=${2:?}; shift 2 ;;
    --hosts) HOSTS=${2:?}; shift 2 ;;
    --interval) INTERVAL=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
DUR_S=$(hw_bench_secs "$DURATION")
[ "$DUR_S" -ge 120 ] || { echo "soak: --duration must be at least 2m" >&2; exit 2; }

HW_JAVA_HOME=$(hw_find_java_home) || exit 1
JAVA="$HW_JAVA_HOME/bin/java"
if [ "$BUILD" = 1 ]; then
  hw_bench_build_jars || exit 1
fi

STAMP=$(date -u +%Y-%m-%dT%H%MZ)
RAW="$OUT/soak-$STAMP"
mkdir -p "$RAW"
WORK=$(mktemp -d)
cleanup() {
  for p in ${SIM:-} ${AGENT:-} ${COLLECTOR:-} ${INFLUX_PID:-}; do
    kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
RANDOM=$SEED
# The programs run from copies: a rebuild in the checkout during the soak must not pull the jar
# from under running JVMs.
cp "$ROOT/collector/target/handlewatch-collector.jar" "$ROOT/agent/target/handlewatch-agent.jar" "$WORK/"
COLLECTOR_JAR="$WORK/handlewatch-collector.jar"
AGENT_JAR="$WORK/handlewatch-agent.jar"

hw_bench_influxd_start "$WORK/influx" "$RAW/influxd.log" || exit 1
GRPC=$(hw_bench_free_port); HTTP=$(hw_bench_free_port); ADMIN=$(hw_bench_free_port)
cat >"$WORK/collector.yml" <<YML
ingest: {bindHost: 127.0.0.1, port: $GRPC}
store: {type: influxdb, url: "$INFLUX_URL", database: soak, createDatabase: true}
server:
  applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: $HTTP}]
  adminConnectors: [{type: http, bindHost: 127.0.0.1, port: $ADMIN}]
  requestLog: {appenders: []}
logging: {level: WARN, loggers: {io.handlewatch: INFO}}
YML
. "$ROOT/bin/lib/jvm-flags.sh"
# A fixed, pre-touched heap: the collector's RSS holds its whole heap from the start, so any growth
# over the soak is real growth, not heap pages touched for the first time.
"$JAVA" "${HW_COLLECTOR_JVM_FLAGS[@]}" -Xms512m -Xmx512m -XX:+AlwaysPreTouch \
  -jar "$COLLECTOR_JAR" server "$WORK/collector.yml" >"$RAW/collector.log" 2>&1 &
COLLECTOR=$!
hw_bench_await_collector "$ADMIN" "$RAW/collector.log" || exit 1

# The real agent, with the launcher's JVM flags and its spool in the work dir.
"$JAVA" "${HW_AGENT_JVM_FLAGS[@]}" -jar "$AGENT_JAR" run \
  --collector "127.0.0.1:$GRPC" --interval 1s --host soak-agent --state-dir "$WORK/agent" >"$RAW/agent.log" 2>&1 &
AGENT=$!

START=$(date +%s)
END=$(( START + DUR_S ))
start_sim() {
  local left=$(( END - $(date +%s) ))
  [ "$left" -gt 5 ] || return 0
  "$JAVA" -Xmx1g -XX:+UseParallelGC -jar "$AGENT_JAR" simulate \
    --collector "127.0.0.1:$GRPC" --hosts "$HOSTS" --interval "$INTERVAL" --duration "${left}s" --seed "$SEED" \
    >>"$RAW/simulate.log" 2>&1 &
  SIM=$!
}
start_sim

gauge() { python3 -c "import json,sys; m=json.load(sys.stdin); print(m['gauges'].get('$1',{}).get('value',''))" 2>/dev/null; }
proc_row() { # RSS KiB, threads, fds of a pid, or three blanks
  if [ -r "/proc/$1/status" ]; then
    echo "$(awk '/VmRSS/ {print $2}' /proc/$1/status),$(awk '/Threads/ {print $2}' /proc/$1/status),$(ls /proc/$1/fd 2>/dev/null | wc -l)"
  else echo ",,"; fi
}
echo "t,collector_rss_kib,collector_threads,collector_fds,collector_heap_bytes,unacked,influx_points_waiting,agent_rss_kib,agent_threads,agent_fds" >"$RAW/samples.csv"
sample() {
  local m; m=$(curl -fs -m 5 "http://127.0.0.1:$ADMIN/metrics")
  echo "$(( $(date +%s) - START )),$(proc_row $COLLECTOR),$(echo "$m" | gauge jvm.memory.heap.used),$(echo "$m" | gauge ingest.unacked),$(echo "$m" | gauge store.influxdb.buffered.points),$(proc_row $AGENT)" >>"$RAW/samples.csv"
}
fault_log() { echo "$(( $(date +%s) - START ))s $*" | tee -a "$RAW/faults.log"; }
# Waits $1 seconds, sampling every 15 s on the way.
NEXT_SAMPLE=$START
pause() {
  local until=$(( $(date +%s) + $1 ))
  while [ "$(date +%s)" -lt "$until" ] && [ "$(date +%s)" -lt "$END" ]; do
    if [ "$(date +%s)" -ge "$NEXT_SAMPLE" ]; then sample; NEXT_SAMPLE=$(( NEXT_SAMPLE + 15 )); fi
    sleep 1
  done
}

declare -A FAULTS=([influxd-killed]=0 [influxd-frozen]=0 [fleet-killed]=0)
pause 60
while [ "$(date +%s)" -lt $(( END - 90 )) ]; do
  case $(( RANDOM % 3 )) in
    0) d=$(( 10 + RANDOM % 51 )); fault_log "influxd killed for ${d}s"; FAULTS[influxd-killed]=$(( FAULTS[influxd-killed] + 1 ))
       kill -9 "$INFLUX_PID"; wait "$INFLUX_PID" 2>/dev/null; pause "$d"; hw_bench_influxd_restart || exit 1 ;;
    1) d=$(( 5 + RANDOM % 26 )); fault_log "influxd frozen for ${d}s"; FAULTS[influxd-frozen]=$(( FAULTS[influxd-frozen] + 1 ))
       kill -STOP "$INFLUX_PID"; pause "$d"; kill -CONT "$INFLUX_PID" ;;
    2) fault_log "simulated fleet killed and restarted"; FAULTS[fleet-killed]=$(( FAULTS[fleet-killed] + 1 ))
       { kill -9 "$SIM"; wait "$SIM"; } 2>/dev/null; start_sim ;;
  esac
  pause $(( 30 + RANDOM % 61 ))
done
pause $(( END - $(date +%s) ))
sample

# Every report the agent took must be in InfluxDB: stop it, let it drain, then count.
kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null
LAST=$(grep -oE 'stopping: last report seq [0-9]+' "$RAW/agent.log" | tail -1 | grep -oE '[0-9]+$')
UNACKED=$(grep -oE '[0-9]+ reports unacknowledged \(kept' "$RAW/agent.log" | tail -1 | grep -oE '^[0-9]+')
if [ "${UNACKED:-0}" -gt 0 ]; then
  "$JAVA" "${HW_AGENT_JVM_FLAGS[@]}" -jar "$AGENT_JAR" run \
    --collector "127.0.0.1:$GRPC" --interval 1s --host soak-agent --state-dir "$WORK/agent" >>"$RAW/agent.log" 2>&1 &
  AGENT=$!; sleep 20; kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null
fi
curl -fsG "$INFLUX_URL/query" --data-urlencode db=soak \
  --data-urlencode "q=SELECT seq FROM agent WHERE host = 'soak-agent'" >"$RAW/agent-seqs.json"
curl -fs "http://127.0.0.1:$ADMIN/metrics" >"$RAW/metrics-end.json"
{ kill -9 "$SIM"; wait "$SIM"; } 2>/dev/null

python3 - "$RAW" "$DUR_S" "$HOSTS" "$INTERVAL" "$SEED" "${LAST:-0}" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2}')" \
  "${FAULTS[influxd-killed]}" "${FAULTS[influxd-frozen]}" "${FAULTS[fleet-killed]}" <<'PY' | tee "$RAW.md"
import csv, json, sys
raw, dur, hosts, interval, seed, last, ncpu, memg, fk, ff, sk = sys.argv[1:12]
dur, last = int(dur), int(last)
rows = list(csv.DictReader(open(raw + "/samples.csv")))
def col(name, rows):
    return [float(r[name]) for r in rows if r[name] not in ("", None)]
early = [r for r in rows if 60 <= int(r["t"]) < 60 + 300]
late = [r for r in rows if int(r["t"]) >= dur - 300]
med = lambda xs: sorted(xs)[len(xs) // 2] if xs else float("nan")
print(f"## soak: {dur // 60} min, {hosts} simulated hosts every {interval} and one real agent every 1 s, faults at random (seed {seed})\n")
print(f"Machine: {ncpu} cores, {memg} GiB. Faults: influxd killed {fk}×, influxd frozen {ff}×, simulated fleet killed {sk}×.\n")
print("| measure | minutes 1-6 (median) | last 5 minutes (median) | max over the run |\n| --- | ---: | ---: | ---: |")
for name, label, scale, fmt in [
    ("collector_rss_kib", "collector RSS (MiB)", 1 / 1024, "{:,.0f}"),
    ("collector_heap_bytes", "collector heap used (MiB)", 1 / 1048576, "{:,.0f}"),
    ("collector_threads", "collector threads", 1, "{:,.0f}"),
    ("collector_fds", "collector open fds", 1, "{:,.0f}"),
    ("unacked", "reports the collector holds unacked", 1, "{:,.0f}"),
    ("influx_points_waiting", "points waiting for InfluxDB", 1, "{:,.0f}"),
    ("agent_rss_kib", "agent RSS (MiB)", 1 / 1024, "{:,.1f}"),
    ("agent_threads", "agent threads", 1, "{:,.0f}"),
    ("agent_fds", "agent open fds", 1, "{:,.0f}"),
]:
    e, l, a = col(name, early), col(name, late), col(name, rows)
    cell = lambda xs, f: (fmt.format(f(xs) * scale) if xs else "—")
    print(f"| {label} | {cell(e, med)} | {cell(l, med)} | {cell(a, max)} |")
vals = json.load(open(raw + "/agent-seqs.json"))["results"][0].get("series", [{}])[0].get("values", [])
seqs = {int(v[1]) for v in vals}
missing = [s for s in range(1, last + 1) if s not in seqs]
print(f"\nThe real agent took reports 1..{last:,}; InfluxDB holds {len(seqs & set(range(1, last + 1))):,} of them; missing: {len(missing)}" + (f" (first {missing[:10]})" if missing else "") + ".")
m = json.load(open(raw + "/metrics-end.json"))
c = m.get("counters", {})
print(f"Collector: {m['meters']['ingest.reports']['count']:,} reports stored, {c.get('ingest.store.failures', {}).get('count', 0):,} store failures (streams ended for a replay), {m['counters'].get('ingest.streams.opened', {}).get('count', 0):,} streams opened.")
PY
