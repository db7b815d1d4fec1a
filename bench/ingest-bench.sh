#!/usr/bin/env bash
# How many agents can one collector carry? Simulated hosts stream realistic reports into a real
# collector, on the memory store or on a real influxd, all on loopback.
#
#   bench/ingest-bench.sh --store memory|influxdb [--hosts 10000] [--interval 10s]
#       [--duration 180s] [--warmup 60s] [--collector-heap 1g] [--out bench/results] [--no-build]
#       [--collector-jar JAR] [--label NAME] [--influx-cpus 1] [--collector-cpus 0]
#       [--sim-cpus 0] [--influx-data 'cache-snapshot-memory-size = "25m"; index-version = "tsi1"']
#       [--detection-shards N] [--warmup-late-for 5m]
#       [--store-settings 'requestTimeout: 2s; maxRetryTime: 4s'] [--collector-jvm-opts '-XX:...']
#
# --detection-shards sets detection.shards (default: one per core the collector sees, so one when
# it is pinned to one CPU).
# --warmup-late-for sets detection.warmUp.lateFor (0s: a read not back within warmUp.timeout is
# dropped, its host stays cold, as before lateFor existed).
# --store-settings adds keys to the store's section of the config, ';' between them: with a short
# requestTimeout and maxRetryTime (10s and 30s by default) InfluxDB's slowest POSTs fail and end
# their streams, as on a loaded box, to see how agents whose streams ended get back in while the
# store is saturated.
# --collector-jvm-opts adds options to the collector's JVM (after the shipped ones, bin/lib/jvm-flags.sh,
# so they win). The collector's
# GC and safepoint log always goes to collector-gc.log beside the other logs.
# --collector-jar runs another build of the collector (e.g. an older commit's) against the same
# simulator, for before/after figures side by side. The --*-cpus options pin each process with
# taskset (a CPU list; empty: unpinned); by default influxd has CPU 1 to itself and the collector
# shares CPU 0 with the simulator. --influx-data adds settings to influxd's [data] section.
#
# The collector runs from its jar with a generated config (free ports; for influxdb, a database
# on an influxd 1.6.7 from Debian's `influxdb` package started here with its own temp dir). The load
# is `handlewatch-agent simulate`, one gRPC stream per simulated host, starts spread over one
# interval. After the warm-up, the steady window is measured:
#   - reports/s and points/s stored: deltas of the collector's ingest.reports / ingest.points
#     meters (admin /metrics) over the window;
#   - collector CPU: utime+stime of its process over the window (/proc/PID/stat), as cores and as
#     CPU microseconds per report;
#   - heap after a full GC at the end (jcmd GC.heap_info: used), peak RSS (VmHWM);
#   - for influxdb, influxd's CPU over the window, its RSS every 5 s (median / max: the cache grows
#     until each snapshot) and its cache snapshots in the window (its log's "Cache snapshot" lines:
#     how many, how often, and how long each took to write; every write stalls while one runs);
#   - sample-to-queryable: the simulator's ack latency (sample time -> ack). Ingest acks a report
#     only after the store has it (InfluxDB answered 204), so a report is queryable by the time its
#     ack arrives; the simulator prints p50/p99 per 10 s, and p50/p99/p99.9/max of every ack after
#     the warm-up.
#   - admission, from the cold start: streams ended for a full buffer (the simulator's count of
#     stream ends saying "buffer full"), streams deferred with a retry delay, and the time until
#     every host had been acknowledged at least once;
#   - for influxdb, the InfluxDB batches POSTed in the window and how many of them by stall
#     writers (store.influxdb.batches.stall_writer: sent beside the writers while influxd stalls);
#   - a report's latency decomposed (p50/p99 of the collector's timers at the end): receipt to write
#     submitted, InfluxDB's own write (the POST of its batch), store ack to ack sent, what the
#     collector added (receipt to ack sent less InfluxDB's own time) and that less the wait for a
#     free InfluxDB writer (every writer busy), and detection lag (store ack to judged); skipped
#     (queue full) reports;
#   - the warm-up of hosts new to the collector: read back, started cold, store reads and hosts per
#     read, and a new host's first report stored -> judged;
#   - the same timers over the window only: /latency-histograms (every value since the start, in
#     buckets within 1 %) read at the window's start and end and subtracted, p50 / p99 / max;
#   - the collector's GC pauses in the window (collector-gc.log): count, total, p50, max, by kind;
#     and the simulator's (simulate-gc.log), which delay its sends and acks;
#   - the load average before and after, since the machine is shared.
# Output: markdown on stdout and in <out>/ingest-<store>-<hosts>-<date>.md; raw logs beside it.
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$ROOT/bin/lib/java.sh"
. "$ROOT/bench/lib/bench.sh"
. "$ROOT/bin/lib/jvm-flags.sh"
STORE=memory
HOSTS=10000
INTERVAL=10s
DURATION=180s
WARMUP=60s
HEAP=1g
OUT="$ROOT/bench/results"
BUILD=1
COLLECTOR_JAR="$ROOT/collector/target/handlewatch-collector.jar"
LABEL=""
INFLUX_CPUS=1
COLLECTOR_CPUS=0
SIM_CPUS=0
INFLUX_DATA=""
SHARDS=""
LATE_FOR=""
STORE_SETTINGS=""
COLLECTOR_JVM_OPTS=""

while [ $# -gt 0 ]; do
  case "$1" in
    --store) STORE=${2:?}; shift 2 ;;
    --hosts) HOSTS=${2:?}; shift 2 ;;
    --interval) INTERVAL=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --collector-heap) HEAP=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --collector-jar) COLLECTOR_JAR=${2:?}; shift 2 ;;
    --label) LABEL=${2:?}; shift 2 ;;
    --influx-cpus) INFLUX_CPUS=$2; shift 2 ;;
    --collector-cpus) COLLECTOR_CPUS=$2; shift 2 ;;
    --sim-cpus) SIM_CPUS=$2; shift 2 ;;
    --influx-data) INFLUX_DATA=$2; shift 2 ;;
    --detection-shards) SHARDS=${2:?}; shift 2 ;;
    --warmup-late-for) LATE_FOR=${2:?}; shift 2 ;;
    --store-settings) STORE_SETTINGS=${2:?}; shift 2 ;;
    --collector-jvm-opts) COLLECTOR_JVM_OPTS=$2; shift 2 ;;
    -h|--help) sed -n '2,61p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ingest-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$STORE" in memory|influxdb) ;; *) echo "ingest-bench: --store memory|influxdb" >&2; exit 2 ;; esac
DUR_S=$(hw_bench_secs "$DURATION"); WARM_S=$(hw_bench_secs "$WARMUP")
[ "$WARM_S" -lt "$DUR_S" ] || { echo "ingest-bench: --warmup must be shorter than --duration" >&2; exit 2; }

HW_JAVA_HOME=$(hw_find_java_home) || exit 1
JAVA="$HW_JAVA_HOME/bin/java"
if [ "$BUILD" = 1 ]; then
  hw_bench_build_jars || exit 1
fi

STAMP=$(date -u +%Y-%m-%dT%H%MZ)
RAW="$OUT/ingest-$STORE-$HOSTS-$STAMP${LABEL:+-$LABEL}"
pin() { if [ -n "$1" ]; then echo "taskset -c $1"; fi; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$RAW"
WORK=$(mktemp -d)
pids=()
trap hw_bench_cleanup EXIT INT TERM

GRPC=$(hw_bench_free_port); HTTP=$(hw_bench_free_port); ADMIN=$(hw_bench_free_port)

STORE_YAML="  type: memory"
if [ "$STORE" = influxdb ]; then
  HW_INFLUX_DATA_EXTRA=$(printf '%s' "$INFLUX_DATA" | tr ';' '\n') HW_INFLUX_PIN=$(pin "$INFLUX_CPUS") \
    hw_bench_influxd_start "$WORK/influx" "$RAW/influxd.log" || exit 1
  pids+=($INFLUX_PID)
  STORE_YAML="  type: influxdb
  url: $INFLUX_URL
  database: handlewatch
  createDatabase: true"
fi
[ -n "$STORE_SETTINGS" ] && STORE_YAML="$STORE_YAML
$(printf '%s' "$STORE_SETTINGS" | tr ';' '\n' | sed 's/^ */  /')"

cat >"$WORK/collector.yml" <<YML
ingest:
  bindHost: 127.0.0.1
  port: $GRPC
store:
$STORE_YAML
server:
  applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: $HTTP}]
  adminConnectors: [{type: http, bindHost: 127.0.0.1, port: $ADMIN}]
  requestLog: {appenders: []}
logging:
  level: WARN
  loggers: {io.handlewatch: INFO}
$(if [ -n "$SHARDS$LATE_FOR" ]; then
  echo "detection:"
  [ -n "$SHARDS" ] && echo "  shards: $SHARDS"
  [ -n "$LATE_FOR" ] && echo "  warmUp: {lateFor: $LATE_FOR}"
fi)
YML
# The collector's JVM flags as bin/handlewatch-collector and the packages start it.
$(pin "$COLLECTOR_CPUS") "$JAVA" "${HW_COLLECTOR_JVM_FLAGS[@]}" -Xms"$HEAP" -Xmx"$HEAP" \
  -Xlog:async -Xlog:gc*,safepoint:file="$RAW/collector-gc.log":utctime,uptime,level,tags $COLLECTOR_JVM_OPTS \
  -jar "$COLLECTOR_JAR" server "$WORK/collector.yml" >"$RAW/collector.log" 2>&1 &
COLLECTOR=$!; pids+=($COLLECTOR)
cp "$WORK/collector.yml" "$RAW/collector.yml" # the settings of this run, beside its logs
hw_bench_await_collector "$ADMIN" "$RAW/collector.log" || exit 1

# An older agent jar has no --measure-after: then only the per-window figures. (grep reads all of
# the help: with -q it would stop early, java would die of SIGPIPE and pipefail fail the test.)
hw_sim_measure_after() {
  if "$JAVA" -jar "$ROOT/agent/target/handlewatch-agent.jar" simulate --help 2>/dev/null | grep -- --measure-after >/dev/null; then
    echo "--measure-after ${WARM_S}s"
  fi
}
$(pin "$SIM_CPUS") "$JAVA" -Xmx3g -XX:+UseParallelGC -XX:MetaspaceSize=128m -Xlog:gc:file="$RAW/simulate-gc.log":utctime \
  -jar "$ROOT/agent/target/handlewatch-agent.jar" simulate \
  --collector "127.0.0.1:$GRPC" --hosts "$HOSTS" --interval "$INTERVAL" --duration "${DUR_S}s" \
  $(hw_sim_measure_after) >"$RAW/simulate.log" 2>&1 &
SIM=$!; pids+=($SIM)

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
meter() { curl -fs "http://127.0.0.1:$ADMIN/metrics" | python3 -c "import json,sys; m=json.load(sys.stdin); print(m['meters']['$1']['count'])"; }
# A meter an older collector may not have: empty then.
meter_opt() { curl -fs "http://127.0.0.1:$ADMIN/metrics" | python3 -c "import json,sys; m=json.load(sys.stdin); print(m['meters'].get('$1',{}).get('count',''))"; }
# Every latency value the collector recorded since its start, as buckets (an older build: empty);
# read at the window's start and end, their difference is the window's own distribution.
histograms() { curl -fs "http://127.0.0.1:$ADMIN/latency-histograms" >"$1" 2>/dev/null || : >"$1"; }
sleep "$WARM_S"
histograms "$RAW/latency-start.txt"
t0=$(date +%s.%N); c0=$(cpu_ticks $COLLECTOR); r0=$(meter ingest.reports); p0=$(meter ingest.points)
b0=$(meter_opt store.influxdb.batches); s0=$(meter_opt store.influxdb.batches.stall_writer)
i0=0; i1=0
if [ "$STORE" = influxdb ]; then
  i0=$(cpu_ticks $INFLUX_PID)
  # influxd's resident memory every 5 s of the window: its cache grows until each snapshot.
  ( while kill -0 $INFLUX_PID 2>/dev/null; do awk '/VmRSS/ {print $2}' /proc/$INFLUX_PID/status; sleep 5; done ) \
    >"$RAW/influxd-rss-kib.txt" 2>/dev/null &
  pids+=($!)
fi
wait $SIM; SIM_RC=$?
t1=$(date +%s.%N); c1=$(cpu_ticks $COLLECTOR); r1=$(meter ingest.reports); p1=$(meter ingest.points)
b1=$(meter_opt store.influxdb.batches); s1=$(meter_opt store.influxdb.batches.stall_writer)
[ "$STORE" = influxdb ] && i1=$(cpu_ticks $INFLUX_PID)
histograms "$RAW/latency-end.txt"
HZ=$(getconf CLK_TCK)
curl -fs "http://127.0.0.1:$ADMIN/metrics" >"$RAW/metrics-end.json"
"$HW_JAVA_HOME/bin/jcmd" $COLLECTOR GC.run >/dev/null 2>&1
# G1's first heap_info line: " garbage-first heap   total 2097152K, used 612345K [...]".
HEAP_USED=$("$HW_JAVA_HOME/bin/jcmd" $COLLECTOR GC.heap_info 2>/dev/null | grep -m1 -oE 'used [0-9]+K' | grep -oE '[0-9]+')
RSS_PEAK=$(awk '/VmHWM/ {print $2}' /proc/$COLLECTOR/status)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$t0" "$t1" "$c0" "$c1" "$r0" "$r1" "$p0" "$p1" "$HZ" "${HEAP_USED:-0}" "${RSS_PEAK:-0}" \
  "$STORE" "$HOSTS" "$INTERVAL" "$RAW" "$SIM_RC" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2}')" "$WARM_S" "$HEAP" \
  "$LOAD_BEFORE" "$LOAD_AFTER" "$COLLECTOR_JAR" "influxd CPUs ${INFLUX_CPUS:-any}, collector ${COLLECTOR_CPUS:-any}, simulator ${SIM_CPUS:-any}" "$INFLUX_DATA" \
  "$i0" "$i1" "$b0" "$b1" "$s0" "$s1" <<'PY' | tee "$RAW.md"
import sys, re, json
t0,t1,c0,c1,r0,r1,p0,p1,hz,heap,rss = (float(x) for x in sys.argv[1:12])
store,hosts,interval,raw,simrc,ncpu,memg = sys.argv[12:19]
dt=t1-t0; reports=r1-r0; points=p1-p0; cpu=(c1-c0)/hz
# Only the simulator's 10 s windows that ended after the warm-up count.
warm=float(sys.argv[19])
p50s=[]; p99s=[]
for l in open(raw+"/simulate.log"):
    m=re.search(r"^t=([0-9]+)s .*p50=(-?[0-9]+) ms p99=(-?[0-9]+) ms", l)
    if m and float(m.group(1)) > warm + 10 and int(m.group(2)) >= 0:
        p50s.append(float(m.group(2))); p99s.append(float(m.group(3)))
last=[l.strip() for l in open(raw+"/simulate.log") if l.startswith("simulate: done")]
last=last[-1] if last else "(no summary line)"
print(f"## ingest: {hosts} hosts every {interval}, {store} store\n")
load_before,load_after,jar,pins,influx_data = sys.argv[21:26]
print(f"Machine: {ncpu} cores, {memg} GiB. Steady window {dt:.0f} s after warm-up. Simulator exit {simrc}.")
print(f"Load average (1/5/15 min) before {load_before}, after {load_after}. Pinned: {pins}.")
print(f"Collector: `{jar}`." + (f" influxd [data]: `{influx_data}`." if influx_data else "") + "\n")
print("| measure | value |\n| --- | --- |")
print(f"| reports stored/s | {reports/dt:,.0f} |")
print(f"| points stored/s | {points/dt:,.0f} |")
print(f"| collector CPU | {cpu/dt:.2f} cores |")
print(f"| collector CPU per report | {cpu/max(reports,1)*1e6:,.0f} µs |")
print(f"| collector heap used after full GC (of -Xmx {sys.argv[20]}) | {heap/1024:,.0f} MiB |")
print(f"| collector peak RSS | {rss/1024:,.0f} MiB |")
if store == "influxdb":
    import datetime, statistics
    i0,i1=float(sys.argv[26]),float(sys.argv[27])
    print(f"| influxd CPU | {(i1-i0)/hz/dt:.2f} cores |")
    try:
        kib=[int(x) for x in open(raw+"/influxd-rss-kib.txt").read().split()]
        print(f"| influxd RSS: median / max of {len(kib)} samples every 5 s | {statistics.median(kib)/1024:,.0f} / {max(kib)/1024:,.0f} MiB |")
    except Exception as e:
        print(f"| influxd RSS | unreadable: {e} |")
    # Every write stalls while influxd snapshots its cache; its log times each snapshot.
    starts=[]; took=[]
    for l in open(raw+"/influxd.log", errors="replace"):
        m=re.search(r"^ts=(\S+) .*msg=\"Cache snapshot \((start|end)\)\"(.*op_elapsed=([0-9.]+)ms)?", l)
        if not m: continue
        ts=datetime.datetime.fromisoformat(m.group(1).replace("Z","+00:00")).timestamp()
        if not (t0 <= ts <= t1): continue
        if m.group(2)=="start": starts.append(ts)
        elif m.group(4): took.append(float(m.group(4)))
    per=f", every {(starts[-1]-starts[0])/(len(starts)-1):.1f} s" if len(starts)>1 else ""
    span=f"{min(took)/1e3:.1f}-{max(took)/1e3:.1f} s" if took else "-"
    print(f"| influxd cache snapshots in the window{per}; each took (op_elapsed) | {len(starts)}; {span} |")
try:
    g=json.load(open(raw+"/metrics-end.json"))["gauges"]
    if "store.memory.bytes" in g:
        print(f"| memory store: bytes held at the end / hosts | {g['store.memory.bytes']['value']/1048576:,.1f} MiB / {g['store.memory.hosts']['value']:,} |")
    if "store.influxdb.buffered.points" in g:
        print(f"| InfluxDB points waiting at the end | {g['store.influxdb.buffered.points']['value']:,} |")
    m=json.load(open(raw+"/metrics-end.json"))
    t=m["timers"].get("detect.cost")
    if t:
        # Dropwizard timers report in seconds unless configured otherwise.
        # Skipped: reports never judged (older collectors, a full queue); coalesced: older reports
        # of a host judged as part of its newest one when detection falls behind (zero is the target).
        cn=m["counters"]
        skipped=cn.get("detect.queue.dropped",{}).get("count",0)
        coalesced=cn.get("detect.queue.coalesced",{}).get("count",0)
        print(f"| detection: reports judged / skipped / coalesced | {m['meters']['detect.evaluations']['count']:,} / {skipped:,} / {coalesced:,} |")
        if "detect.lag" in g:
            print(f"| detection: lag at the end (oldest waiting report), shards | {g['detect.lag']['value']:,} ms, {g['detect.shards']['value']} |")
        print(f"| detection cost per report: mean / p99 | {t['mean']*1e6:,.0f} / {t['p99']*1e6:,.0f} µs |")
        # The warm-up of hosts new to this collector (all of them after a cold start).
        if "detect.warmup.hosts" in cn:
            w=lambda k: cn.get("detect.warmup."+k,{}).get("count",0)
            print(f"| warm-up: hosts read back / of them empty / started cold / reads paced | {w('hosts'):,} / {w('empty'):,} / {w('cold'):,} / {w('paced'):,} |")
            if "detect.warmup.late" in cn:
                # Hosts that started cold at warmUp.timeout and had their history merged when the
                # read answered later (warmUp.lateFor); failed: read failed or answered too late.
                print(f"| warm-up: of the cold, history merged late / late failed | {w('late'):,} / {w('late.failed'):,} |")
            b=m.get("histograms",{}).get("detect.warmup.batch")
            if b:
                print(f"| warm-up: store reads / hosts per read mean / max | {b['count']:,} / {b['mean']:,.1f} / {b['max']:,} |")
            r=m["timers"].get("detect.warmup.resumed")
            if r:
                print(f"| warm-up: a new host's first report stored → judged p50 / p99 | {r['p50']:,.1f} / {r['p99']:,.1f} s |")
except Exception as e:
    print(f"| store or detection gauges | unreadable: {e} |")
try:
    m=json.load(open(raw+"/metrics-end.json"))
    def timer(name, label):
        t=m["timers"].get(name)
        if not t:
            print(f"| {label} | not measured by this build |"); return
        # Timers are in the registry's duration unit (seconds unless configured otherwise).
        unit={"seconds":1e3,"milliseconds":1.0,"microseconds":1e-3,"nanoseconds":1e-6}.get(t.get("duration_units","seconds"),1e3)
        print(f"| {label}: p50 / p99 (count) | {t['p50']*unit:,.1f} / {t['p99']*unit:,.1f} ms ({t['count']:,}) |")
    timer("ingest.latency.receipt_to_write","latency: receipt → write submitted")
    timer("store.influxdb.queue.latency","latency: in the InfluxDB writer's batch queue")
    timer("store.influxdb.queue.writer_wait","latency: of it, waiting for a free InfluxDB writer (every writer busy)")
    timer("ingest.latency.backend_write","latency: InfluxDB's own write (POST of the batch)")
    timer("ingest.latency.store_ack_to_ack","latency: store ack → ack sent")
    timer("ingest.latency.collector_added","latency: collector added (receipt → ack, less InfluxDB's own)")
    timer("ingest.latency.collector_added_less_writer_wait","latency: collector added, less waiting for a free InfluxDB writer")
    timer("detect.latency","latency: detection lag (store ack → judged)")
    c=m.get("counters",{})
    if "ingest.streams.deferred" in c:
        print(f"| streams deferred with a retry delay (collector) | {c['ingest.streams.deferred']['count']:,} |")
    if "ingest.streams.ended.store" in c:
        print(f"| streams ended by a store failure, the agent to replay (collector) | {c['ingest.streams.ended.store']['count']:,} |")
    if "store.influxdb.buffer.refused" in c:
        print(f"| reports refused by a full InfluxDB buffer (collector) | {c['store.influxdb.buffer.refused']['count']:,} |")
    # Stall writers: POSTs sent beside the writers while InfluxDB stalls (InfluxWriter).
    b0,b1,s0,s1=sys.argv[28:32]
    if s0 and s1 and b0 and b1:
        print(f"| InfluxDB POSTs in the window: started by stall writers / batches written (collector) | {int(s1)-int(s0):,} / {int(b1)-int(b0):,} |")
    elif store == "influxdb":
        print("| InfluxDB batches by stall writers | not measured by this build |")
except Exception as e:
    print(f"| latency timers | unreadable: {e} |")
# The same timers over the steady window only: the end reading less the start reading, bucket by
# bucket (buckets within 1 %; a percentile is its bucket's highest value).
def buckets(path):
    out={}
    try:
        for l in open(path):
            if l.startswith("#") or not l.strip(): continue
            name,b,n=l.split()
            out.setdefault(name,{})[int(b)]=int(n)
    except OSError:
        pass
    return out
hs,he=buckets(raw+"/latency-start.txt"),buckets(raw+"/latency-end.txt")
def window_pct(name):
    d={b:n-hs.get(name,{}).get(b,0) for b,n in he.get(name,{}).items()}
    total=sum(d.values())
    if total<=0: return None
    def at(q):
        seen=0
        for b in sorted(d):
            seen+=d[b]
            if seen>=q*total: return b/1e3
    return at(0.5),at(0.99),max(b for b,n in d.items() if n>0)/1e3,total
if he:
    for name,label in [("ingest.latency.receipt_to_write","receipt → write submitted"),
                       ("ingest.store.latency","write submitted → the store's ack"),
                       ("store.influxdb.queue.latency","in the InfluxDB writer's batch queue"),
                       ("store.influxdb.queue.writer_wait","of it, waiting for a free InfluxDB writer"),
                       ("ingest.latency.backend_write","InfluxDB's own write (POST of the batch)"),
                       ("ingest.latency.store_ack_to_ack","store ack → ack sent"),
                       ("ingest.latency.collector_added","collector added (receipt → ack, less InfluxDB's own)"),
                       ("ingest.latency.collector_added_less_writer_wait","collector added, less waiting for a free InfluxDB writer"),
                       ("detect.latency","detection lag (store ack → judged)")]:
        w=window_pct(name)
        if w:
            print(f"| window only, {label}: p50 / p99 / max (count) | {w[0]:,.1f} / {w[1]:,.1f} / {w[2]:,.1f} ms ({w[3]:,}) |")
else:
    print("| latency over the window only | not measured by this build (no /latency-histograms) |")
# The collector's GC in the window (collector-gc.log, -Xlog:gc*,safepoint with UTC times).
import datetime
pauses=[]; cycles=0; longest_sp=0.0
try:
    for l in open(raw+"/collector-gc.log", errors="replace"):
        m=re.match(r"^\[(\S+?)\]", l)
        if not m: continue
        try:
            ts=datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        except ValueError:
            continue
        if not (t0 <= ts <= t1): continue
        p=re.search(r"\[gc\s*\] GC\(\d+\) Pause (Young \([^)]*\)|Remark|Cleanup|Full).* ([0-9.]+)ms$", l)
        if p: pauses.append((p.group(1).strip(), float(p.group(2))))
        if re.search(r"\[gc\s*\] GC\(\d+\) Concurrent Mark Cycle [0-9.]+ms", l): cycles+=1
        sp=re.search(r"\[safepoint\s*\].* Total: ([0-9]+) ns", l)
        if sp: longest_sp=max(longest_sp, int(sp.group(1))/1e6)
    if pauses:
        ms=sorted(x for _,x in pauses)
        kinds={}
        for k,_ in pauses: kinds[k]=kinds.get(k,0)+1
        print(f"| collector GC pauses in the window: count / total / p50 / max | {len(ms)} / {sum(ms):,.0f} ms ({sum(ms)/10/dt:.2f} % of the time) / {ms[len(ms)//2]:,.1f} / {ms[-1]:,.1f} ms |")
        print(f"| of them, by kind; concurrent mark cycles ended | {'; '.join(f'{k}: {n}' for k,n in sorted(kinds.items()))}; {cycles} |")
        print(f"| longest safepoint in the window (all causes) | {longest_sp:,.1f} ms |")
    else:
        print("| collector GC pauses in the window | none logged |")
except OSError:
    print("| collector GC pauses | no collector-gc.log |")
# The simulator's own pauses delay its sends and its reading of acks: they count in its
# sample -> ack latency, not in the collector's timers. (MetaspaceSize above: without it, the
# simulator's classes reached the default threshold near the end of a run and a full GC of
# 230-250 ms made that window's p99.)
try:
    sim=[]
    for l in open(raw+"/simulate-gc.log", errors="replace"):
        m=re.match(r"^\[(\S+?)\].* Pause .* ([0-9.]+)ms$", l)
        if not m: continue
        ts=datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        if t0 <= ts <= t1: sim.append(float(m.group(2)))
    print(f"| simulator GC pauses in the window: count / total / max | {len(sim)} / {sum(sim):,.0f} ms / {max(sim, default=0):,.1f} ms |")
except OSError:
    pass
adm=re.search(r"stream errors ([0-9]+) \(buffer full ([0-9]+)\), deferred ([0-9]+).*every host acked after (.*)$", last)
if adm:
    print(f"| streams ended for a full buffer / all stream errors (simulator) | {int(adm.group(2)):,} / {int(adm.group(1)):,} |")
    print(f"| streams deferred (simulator) | {int(adm.group(3)):,} |")
    print(f"| time from the simulator's start until every host was acked once | {adm.group(4)} |")
# Every ack from the end of the warm-up on, at the simulator: what an agent waits, pauses of the
# collector included (its timers start at receipt, after a pause).
for l in open(raw+"/simulate.log"):
    m=re.match(r"^simulate: acks from ([0-9]+) s on: ([0-9]+), ack_latency p50=(-?[0-9]+) ms p99=(-?[0-9]+) ms p99.9=(-?[0-9]+) ms max=(-?[0-9]+) ms", l)
    if m:
        print(f"| sample → ack at the simulator, every ack from {m.group(1)} s on: p50 / p99 / p99.9 / max (count) | {m.group(3)} / {m.group(4)} / {m.group(5)} / {int(m.group(6)):,} ms ({int(m.group(2)):,}) |")
if p99s:
    med=lambda xs: sorted(xs)[len(xs)//2]
    print(f"| sample → queryable (ack) p50: median / worst of {len(p50s)} 10 s windows | {med(p50s):,.0f} / {max(p50s):,.0f} ms |")
    print(f"| sample → queryable (ack) p99: median / worst of the same windows | {med(p99s):,.0f} / {max(p99s):,.0f} ms |")
print(f"\nSimulator: `{last}`")
PY
