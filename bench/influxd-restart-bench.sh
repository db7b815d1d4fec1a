#!/usr/bin/env bash
# What a crash of influxd costs at restart with a full cache: the time until it answers again.
#
#   bench/influxd-restart-bench.sh [--hosts 10000] [--fill 80] [--influx-data '...']
#       [--max-fill 300s] [--all-hosts] [--after 120s] [--out bench/results] [--label NAME]
#       [--influx-cpus 1]
#
# influxd keeps the writes since its last cache snapshot in memory and in its WAL; killed, it
# replays the WAL before it serves again. A larger cache-snapshot-memory-size makes snapshots rarer
# and that replay longer, and the inmem index is rebuilt from every series on each start where tsi1
# reads its index from disk. Here a real collector with `handlewatch-agent simulate` (--hosts
# simulated hosts, a report every 10 s) writes into a private influxd (Debian's `influxdb`
# package, with --influx-data added to its [data] section, pinned to --influx-cpus) until the
# cache (influxd's /debug/vars, tsm1_cache memBytes) holds --fill percent of
# cache-snapshot-memory-size (25m when not given); then influxd is killed with SIGKILL, the
# collector and simulator stopped, and influxd started again on the same data. Measured: the cache
# and WAL at the kill, the series in the database, the time from the start until /ping answers and
# until a query of the last 10 minutes answers with what was acknowledged before the kill (a
# count), and influxd's RSS once it answers. A kill -9 keeps what the page cache holds, so what
# a power loss would cost is not shown here.
# By default the kill comes the first time the cache reaches --fill, which at 25m is before a
# fleet of 10,000 has all connected (their starts are spread over one interval), so the database
# holds only the series of the hosts in by then. --all-hosts first waits (at most --max-fill)
# until the simulator has seen every host acknowledged at least once, --after DURATION until that
# long after the simulator's start; then the wait for the cache to reach --fill starts, so the
# restart is measured with every host's series in the index.
# Needs the collector and agent jars (bench/ingest-bench.sh builds them).
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$ROOT/bin/lib/java.sh"
. "$ROOT/bench/lib/bench.sh"
HOSTS=10000
FILL=80
INFLUX_DATA=""
MAX_FILL=300
ALL_HOSTS=0
AFTER_S=0
OUT="$ROOT/bench/results"
LABEL=""
INFLUX_CPUS=1
COLLECTOR_JAR="$ROOT/collector/target/handlewatch-collector.jar"
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) HOSTS=${2:?}; shift 2 ;;
    --fill) FILL=${2:?}; shift 2 ;;
    --influx-data) INFLUX_DATA=$2; shift 2 ;;
    --max-fill) MAX_FILL=$(hw_bench_secs "${2:?}"); shift 2 ;;
    --all-hosts) ALL_HOSTS=1; shift ;;
    --after) AFTER_S=$(hw_bench_secs "${2:?}"); shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --label) LABEL=${2:?}; shift 2 ;;
    --influx-cpus) INFLUX_CPUS=$2; shift 2 ;;
    --collector-jar) COLLECTOR_JAR=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "influxd-restart-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
HW_JAVA_HOME=$(hw_find_java_home) || exit 1
JAVA="$HW_JAVA_HOME/bin/java"
SNAP=$(printf '%s' "$INFLUX_DATA" | grep -oE 'cache-snapshot-memory-size *= *"[0-9]+[mg]?"' | grep -oE '[0-9]+[mg]?"' | tr -d '"')
SNAP=${SNAP:-25m}
case "$SNAP" in
  *m) SNAP_B=$(( ${SNAP%m} * 1048576 ));; *g) SNAP_B=$(( ${SNAP%g} * 1073741824 ));;
  *) SNAP_B=$SNAP;;
esac
TARGET=$(( SNAP_B / 100 * FILL ))

STAMP=$(date -u +%Y-%m-%dT%H%MZ)
RAW="$OUT/influxd-restart-$HOSTS-$STAMP${LABEL:+-$LABEL}"
mkdir -p "$RAW"
WORK=$(mktemp -d)
pids=()
trap hw_bench_cleanup EXIT INT TERM
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
PIN=""; [ -n "$INFLUX_CPUS" ] && PIN="taskset -c $INFLUX_CPUS"
HW_INFLUX_DATA_EXTRA=$(printf '%s' "$INFLUX_DATA" | tr ';' '\n') HW_INFLUX_PIN=$PIN \
  hw_bench_influxd_start "$WORK/influx" "$RAW/influxd.log" || exit 1
pids+=($INFLUX_PID)
GRPC=$(hw_bench_free_port); HTTP=$(hw_bench_free_port); ADMIN=$(hw_bench_free_port)
cat >"$WORK/collector.yml" <<YML
ingest:
  bindHost: 127.0.0.1
  port: $GRPC
store:
  type: influxdb
  url: $INFLUX_URL
  database: handlewatch
  createDatabase: true
server:
  applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: $HTTP}]
  adminConnectors: [{type: http, bindHost: 127.0.0.1, port: $ADMIN}]
  requestLog: {appenders: []}
logging:
  level: WARN
YML
taskset -c 0 "$JAVA" -Xms1g -Xmx1g -jar "$COLLECTOR_JAR" server "$WORK/collector.yml" >"$RAW/collector.log" 2>&1 &
COLLECTOR=$!; pids+=($COLLECTOR)
hw_bench_await_collector "$ADMIN" "$RAW/collector.log" || exit 1
taskset -c 0 "$JAVA" -Xmx3g -XX:+UseParallelGC -jar "$ROOT/agent/target/handlewatch-agent.jar" simulate \
  --collector "127.0.0.1:$GRPC" --hosts "$HOSTS" --interval 10s --duration "$((MAX_FILL * (1 + ALL_HOSTS) + AFTER_S + 60))s" \
  >"$RAW/simulate.log" 2>&1 &
SIM=$!; pids+=($SIM)

# The cache of every shard (one here), in bytes, from influxd's expvar page.
cache_bytes() {
  curl -fs "$INFLUX_URL/debug/vars" | python3 -c '
import json,sys
v=json.load(sys.stdin)
print(sum(x["values"].get("memBytes",0) for x in v.values() if isinstance(x,dict) and x.get("name")=="tsm1_cache"))' 2>/dev/null || echo 0
}
q() { curl -fsG "$INFLUX_URL/query" --data-urlencode db=handlewatch --data-urlencode "q=$1"; }
count_q='SELECT count("established") FROM "tcp" WHERE time > now() - 10m'
# Hosts the simulator has seen acknowledged at least once, from its line every 10 s.
hosts_acked() { grep -oE 'hosts_acked=[0-9]+' "$RAW/simulate.log" | tail -1 | cut -d= -f2; }
t_sim=$(date +%s.%N)
if [ "$ALL_HOSTS" = 1 ]; then
  until [ "$(hosts_acked)" = "$HOSTS" ]; do
    sleep 1
    if [ "$(echo "$(date +%s.%N) - $t_sim > $MAX_FILL" | bc)" = 1 ]; then
      echo "influxd-restart-bench: $(hosts_acked) of $HOSTS hosts acknowledged in ${MAX_FILL}s" >&2; exit 1
    fi
  done
fi
while [ "$(echo "$(date +%s.%N) - $t_sim < $AFTER_S" | bc)" = 1 ]; do sleep 1; done
WAITED_S=$(echo "$(date +%s.%N) - $t_sim" | bc)
t_fill=$(date +%s.%N); CACHE=0
while [ "$CACHE" -lt "$TARGET" ]; do
  sleep 0.25
  CACHE=$(cache_bytes)
  if [ "$(echo "$(date +%s.%N) - $t_fill > $MAX_FILL" | bc)" = 1 ]; then
    echo "influxd-restart-bench: the cache reached $CACHE of $TARGET bytes in ${MAX_FILL}s" >&2; exit 1
  fi
done
FILL_S=$(echo "$(date +%s.%N) - $t_fill" | bc)
SERIES=$(q 'SHOW SERIES CARDINALITY' | grep -oE '"values":\[\[[0-9]+' | grep -oE '[0-9]+$' | head -1)
# Stop the writers first so nothing is acknowledged between the count and the kill.
kill -STOP $SIM $COLLECTOR
sleep 1
HOSTS_IN=$(hosts_acked)
BEFORE=$(q "$count_q" | grep -oE '"values":\[\["[^"]*",[0-9]+' | grep -oE '[0-9]+$')
CACHE=$(cache_bytes)
RSS_BEFORE=$(awk '/VmRSS/ {print $2}' /proc/$INFLUX_PID/status)
kill -9 $INFLUX_PID; wait $INFLUX_PID 2>/dev/null
kill -9 $SIM $COLLECTOR; wait $SIM $COLLECTOR 2>/dev/null
WAL_KIB=$(du -sk "$WORK/influx/wal" | cut -f1)
DATA_KIB=$(du -sk "$WORK/influx/data" | cut -f1)
echo "--- restart after kill -9 ---" >>"$RAW/influxd.log"

t_start=$(date +%s.%N)
$PIN influxd -config "$WORK/influx/influxdb.conf" >>"$RAW/influxd.log" 2>&1 &
INFLUX_PID=$!; pids+=($INFLUX_PID)
until curl -fs "$INFLUX_URL/ping" >/dev/null; do
  kill -0 $INFLUX_PID 2>/dev/null || { echo "influxd died at restart; see $RAW/influxd.log" >&2; exit 1; }
  sleep 0.05
done
t_ping=$(date +%s.%N)
AFTER=""
until [ -n "$AFTER" ]; do AFTER=$(q "$count_q" 2>/dev/null | grep -oE '"values":\[\["[^"]*",[0-9]+' | grep -oE '[0-9]+$'); [ -n "$AFTER" ] || sleep 0.05; done
t_query=$(date +%s.%N)
RSS_AFTER=$(awk '/VmRSS/ {print $2}' /proc/$INFLUX_PID/status)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$HOSTS" "$INFLUX_DATA" "$SNAP" "$FILL" "$FILL_S" "$CACHE" "$WAL_KIB" "$DATA_KIB" "${SERIES:-?}" \
  "${BEFORE:-?}" "$AFTER" "$t_start" "$t_ping" "$t_query" "$RSS_BEFORE" "$RSS_AFTER" "$LOAD_BEFORE" "$LOAD_AFTER" \
  "$(nproc)" "$WAITED_S" "${HOSTS_IN:-?}" "$ALL_HOSTS" "$AFTER_S" <<'PY' | tee "$RAW.md"
import sys
a=sys.argv[1:]
hosts,data,snap,fill,fill_s,cache,wal,dat,series,before,after,ts,tp,tq,rb,ra,lb,la,ncpu,waited,hosts_in,all_hosts,after_s=a
print(f"## influxd restart after kill -9 with a full cache, {hosts} simulated hosts\n")
print(f"Machine: {ncpu} cores; influxd pinned as the ingest bench pins it. Load average (1/5/15 min) before {lb}, after {la}.")
print(f"influxd [data]: `{data or 'defaults'}` (cache-snapshot-memory-size {snap}); killed at {fill} % of it.\n")
print("| measure | value |\n| --- | --- |")
if all_hosts == "1" or after_s != "0":
    why = "every host acknowledged once" if all_hosts == "1" else ""
    if after_s != "0": why += (" and " if why else "") + f"{after_s} s after the simulator's start"
    print(f"| waited before the fill ({why}) | {float(waited):.0f} s |")
print(f"| time to fill the cache | {float(fill_s):.0f} s |")
print(f"| hosts acknowledged at least once at the kill (simulator, last 10 s line) | {hosts_in} of {hosts} |")
print(f"| cache at the kill (tsm1_cache memBytes) | {int(cache)/1048576:,.1f} MiB |")
print(f"| WAL / TSM data on disk at the kill | {int(wal)/1024:,.1f} / {int(dat)/1024:,.1f} MiB |")
print(f"| series in the database (SHOW SERIES CARDINALITY, an estimate) | {series} |")
print(f"| influxd RSS before the kill / once it answers again | {int(rb)/1024:,.0f} / {int(ra)/1024:,.0f} MiB |")
print(f"| start → /ping answers | {float(tp)-float(ts):.2f} s |")
print(f"| start → a query of the last 10 min answers | {float(tq)-float(ts):.2f} s |")
print(f"| tcp points of the last 10 min before the kill / after the restart | {before} / {after} |")
PY
