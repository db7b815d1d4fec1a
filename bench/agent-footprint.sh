#!/usr/bin/env bash
# The agent daemon's footprint, before and after a change, side by side in one run: RSS and its
# breakdown, threads, classes, CPU per interval and start-up of `handlewatch-agent run` streaming
# to a real collector, at several socket counts; and node_exporter's idle RSS on the same machine.
#
#   bench/agent-footprint.sh [--base REV] [--scales 1000,170000] [--duration 10m] [--interval 10s]
#       [--cpus 0,1] [--out bench/results] [--no-install] [--sample] [--also NAME=JVM_OPTS ...]
#
# Both agents run from their self-contained runtimes (bin/dev/build-dist agent: the jlink image,
# the jar and the launcher with its JVM flags), as a host runs them. "after" is this checkout;
# "before" is REV (default: main before the footprint work, 4e29790), checked out into a temporary
# git worktree, built there, and removed at the end.
#
# Per scale: bench/SocketLoad.java holds the sockets on loopback (S fd-holding sockets in the mix
# of tcp-sample-bench.sh: S=170000 puts 180,000 sockets in the kernel's table, S=1000 about 1,060);
# a collector (memory store, free loopback ports) receives. The agents are pinned to the last CPU
# of --cpus, the collector and the load to the first. Each agent runs from a copy of its runtime of
# its own, as on a host: agents mapping one libjvm.so file would share its page-cache pages (in
# each one's RSS, and out of reach of the agent's page-out after start-up). Four agents run at once:
#   - before and after, plain: RSS (VmRSS every interval; VmHWM), /proc/PID/smaps_rollup and the
#     resident set by mapping (bench/lib/smaps-breakdown.py) at the end, threads (/proc/PID/task),
#     classes loaded (jcmd PerfCounter.print, read after the thread count since attaching adds a
#     thread), CPU per interval (utime+stime deltas), major page faults (majflt of /proc/PID/stat:
#     pages read back from a file), Pss at the end, and start-up:
#     exec to the first report acknowledged by the collector (the agent logs "stream accepted" on
#     the collector's first reply, which carries the first ack), less the random delay before the
#     first sample that the agent announces ("first sample in N ms"). Each plain agent starts
#     alone, once the previous one has reported.
#   - before and after again with -XX:NativeMemoryTracking=summary, for the JVM's breakdown
#     (NMT itself costs them ~2-3 MiB, so their RSS is not the figure).
#   - with --also NAME=JVM_OPTS (repeatable): the after daemon again with those JVM options added
#     (HANDLEWATCH_AGENT_JAVA_OPTS), e.g. --also xmn1m=-Xmn1m, to try a flag side by side.
#   - with --sample: the one-shot command on the same load, `sample --count N --interval
#     <interval>`, of the after runtime (sample) and of the before one (sample-before), each as its
#     launcher starts it, and the after daemon without its AOT cache (after-noaot,
#     -XX:AOTMode=off): what the daemon holds beyond a sample, and what the cache changes.
#   Extra agents are measured like the plain ones (RSS, smaps, CPU per interval), not for start-up.
#   One interval before the end the page reference bits of every measured agent are cleared
#   (/proc/PID/clear_refs): the breakdown's "referenced" table is what each touched in that last
#   interval, the working set between two samples.
# node_exporter (Debian's prometheus-node-exporter, default collectors) runs on a loopback port
# for 30 s unscraped, then is scraped once: its VmRSS idle and after the scrape.
# Load average and the machine's busy share are recorded per scale. Needs root (sysctls raised for
# the load and restored, apt-get). Output: markdown on stdout and in
# <out>/agent-footprint-<date>.md; raw samples in <out>/agent-footprint-<date>/.
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$ROOT/bin/lib/java.sh"
. "$ROOT/bench/lib/bench.sh"
BASE=4e29790
SCALES=1000,170000
DURATION=10m
INTERVAL=10s
CPUS=0,1
OUT="$ROOT/bench/results"
INSTALL=1
EXTRA=() # NAME=JVM_OPTS of the after daemon (--also), and the --sample twins

usage() { sed -n '2,46p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE=${2:?}; shift 2 ;;
    --scales) SCALES=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --interval) INTERVAL=${2:?}; shift 2 ;;
    --cpus) CPUS=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --also)
      [[ "${2:-}" =~ ^[a-z0-9-]+=.+ ]] || { echo "agent-footprint: --also NAME=JVM_OPTS (name: a-z 0-9 -)" >&2; exit 2; }
      EXTRA+=("$2"); shift 2 ;;
    --sample) EXTRA+=("after-noaot=-XX:AOTMode=off" "sample=" "sample-before="); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "agent-footprint: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
DUR_S=$(hw_bench_secs "$DURATION"); IV_S=$(hw_bench_secs "$INTERVAL")
[ "$DUR_S" -ge 30 ] 2>/dev/null || { echo "agent-footprint: --duration at least 30s" >&2; exit 2; }
[ "$IV_S" -ge 1 ] 2>/dev/null || { echo "agent-footprint: --interval at least 1s" >&2; exit 2; }
IFS=, read -r -a SCALE_LIST <<<"$SCALES"
for s in "${SCALE_LIST[@]}"; do
  [[ "$s" =~ ^[1-9][0-9]*$ ]] && [ "$s" -le 400000 ] || { echo "agent-footprint: bad scale $s" >&2; exit 2; }
done
CPU_LOAD=${CPUS%%,*}; CPU_AGENT=${CPUS##*,}
[ "$(id -u)" -eq 0 ] || { echo "agent-footprint: run as root (sysctls for the load, apt-get)" >&2; exit 1; }
log() { echo "[footprint $(date +%T)] $*" >&2; }
die() { log "$*"; exit 1; }

HW_JAVA_HOME=$(hw_find_java_home) || exit 1
JAVA="$HW_JAVA_HOME/bin/java"; JCMD="$HW_JAVA_HOME/bin/jcmd"
export JAVA_HOME=$HW_JAVA_HOME LC_NUMERIC=C

NODE_EXPORTER=/usr/bin/prometheus-node-exporter
need=()
[ -x "$NODE_EXPORTER" ] || need+=(prometheus-node-exporter)
command -v taskset >/dev/null && command -v setsid >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
command -v mvn >/dev/null || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  [ "$INSTALL" -eq 1 ] || die "missing ${need[*]} (and --no-install given)"
  log "apt-get install ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    die "could not install ${need[*]}"
fi

STAMP=$(date -u +%Y-%m-%dT%H%MZ)
RAW="$OUT/agent-footprint-$STAMP"
mkdir -p "$RAW" || exit 1
WORK=$(mktemp -d /tmp/agent-footprint.XXXXXX)
BASE_TREE="$WORK/base-src"
PGIDS=()
SYSCTL_RESTORE=()
stop_group() {
  local g=$1 i
  kill -0 -- "-$g" 2>/dev/null || return 0
  kill -TERM -- "-$g" 2>/dev/null
  for i in $(seq 1 100); do kill -0 -- "-$g" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL -- "-$g" 2>/dev/null
}
cleanup() {
  local g kv
  trap - EXIT INT TERM
  for g in "${PGIDS[@]}"; do stop_group "$g"; done
  for kv in "${SYSCTL_RESTORE[@]}"; do sysctl -q -w "$kv" >/dev/null 2>&1 || log "could not restore $kv"; done
  if [ -d "$BASE_TREE" ]; then git -C "$ROOT" worktree remove --force "$BASE_TREE" >/dev/null 2>&1 || log "could not remove worktree $BASE_TREE"; fi
  git -C "$ROOT" worktree prune >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM
start_bg() { # CPU OUT CMD...: in its own session, pinned; sets STARTED_PID
  local cpu=$1 out=$2; shift 2
  setsid taskset -c "$cpu" "$@" >"$out" 2>&1 </dev/null &
  STARTED_PID=$!
  PGIDS+=("$STARTED_PID")
}
raise_sysctl() {
  local cur; cur=$(sysctl -n "$1" 2>/dev/null) || return 0
  if [ "$cur" -lt "$2" ] 2>/dev/null && sysctl -q -w "$1=$2" >/dev/null 2>&1; then
    SYSCTL_RESTORE+=("$1=$cur"); log "raised $1 $cur -> $2 (restored on exit)"
  fi
}

# --- builds: after (this checkout) and before (REV in a temporary worktree) ----------------------
build_runtime() { # SRC DEST: packages agent (and collector for "after") in SRC, copies the runtime
  local src=$1 dest=$2 modules=agent
  [ "$src" = "$ROOT" ] && modules=agent,collector
  log "building $modules in $src"
  (cd "$src" && nice -n 5 mvn -B -q -DskipTests -Dfmt.skip=true -pl "$modules" -am package) >"$RAW/build-$(basename "$dest").log" 2>&1 ||
    die "build failed in $src (see $RAW/build-$(basename "$dest").log)"
  (cd "$src" && bin/dev/build-dist --no-build agent) >>"$RAW/build-$(basename "$dest").log" 2>&1 ||
    die "build-dist failed in $src"
  cp -a "$src/agent/target/handlewatch-agent-runtime" "$dest"
}
BASE_REV=$(git -C "$ROOT" rev-parse --short "$BASE") || die "no revision $BASE"
AFTER_REV=$(git -C "$ROOT" rev-parse --short HEAD)
[ -z "$(git -C "$ROOT" status --porcelain -- agent bin proto pom.xml)" ] || AFTER_REV="$AFTER_REV+uncommitted"
git -C "$ROOT" worktree add --detach "$BASE_TREE" "$BASE" >/dev/null 2>&1 || die "git worktree add $BASE_TREE $BASE failed"
build_runtime "$ROOT" "$WORK/after"
build_runtime "$BASE_TREE" "$WORK/before"
git -C "$ROOT" worktree remove --force "$BASE_TREE" && git -C "$ROOT" worktree prune

# --- the collector ---------------------------------------------------------------------------------
GRPC=$(hw_bench_free_port); HTTP=$(hw_bench_free_port); ADMIN=$(hw_bench_free_port)
cat >"$WORK/collector.yml" <<YML
ingest:
  bindHost: 127.0.0.1
  port: $GRPC
store:
  type: memory
server:
  applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: $HTTP}]
  adminConnectors: [{type: http, bindHost: 127.0.0.1, port: $ADMIN}]
  requestLog: {appenders: []}
logging:
  level: WARN
  loggers: {io.handlewatch: INFO}
YML
start_bg "$CPU_LOAD" "$RAW/collector.log" "$JAVA" -XX:+UseSerialGC -Xmx512m --enable-native-access=ALL-UNNAMED \
  -jar "$ROOT/collector/target/handlewatch-collector.jar" server "$WORK/collector.yml"
hw_bench_await_collector "$ADMIN" "$RAW/collector.log" 240 || exit 1

# --- node_exporter, idle ---------------------------------------------------------------------------
NE_PORT=$(hw_bench_free_port)
start_bg "$CPU_AGENT" "$RAW/node_exporter.log" "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$NE_PORT"
NE_PID=$STARTED_PID
sleep 30
NE_IDLE_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$NE_PID/status")
curl -fs -o /dev/null "http://127.0.0.1:$NE_PORT/metrics" || log "node_exporter scrape failed"
sleep 2
NE_SCRAPED_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$NE_PID/status")
NE_THREADS=$(ls "/proc/$NE_PID/task" | wc -l)
NE_VERSION=$("$NODE_EXPORTER" --version 2>&1 | head -1)
stop_group "$NE_PID"
printf 'idle_kb %s\nscraped_kb %s\nthreads %s\nversion %s\n' "$NE_IDLE_KB" "$NE_SCRAPED_KB" "$NE_THREADS" "$NE_VERSION" >"$RAW/node_exporter.txt"
log "node_exporter: idle $((NE_IDLE_KB / 1024)) MiB, after a scrape $((NE_SCRAPED_KB / 1024)) MiB"

# --- per scale ---------------------------------------------------------------------------------------
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo nan; }
majflt() { awk '{ sub(/^.*\) /, ""); print $10 }' "/proc/$1/stat" 2>/dev/null || echo nan; }
cpu_snapshot() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6; exit }' /proc/stat; }
start_agent() { # NAME LAUNCHER [JAVA_OPTS]: starts it pinned; records exec time; sets STARTED_PID
  local name=$1 launcher=$2 opts=${3:-} rt
  rm -rf "$WORK/state-$name"
  # Each agent runs from a copy of its runtime of its own, as one agent does on a host: agents
  # sharing one libjvm.so file share its page-cache pages, which then count in each one's RSS and
  # which the kernel will not page out of one of them (madvise MADV_PAGEOUT, StartupPages).
  if [ "$name" != before ] && [ "$name" != after ]; then
    rt=$(dirname "$(dirname "$launcher")")
    # Synced: pages of a file still dirty in the page cache cannot be paged out, and a host's
    # runtime was written long before the agent starts.
    [ -d "$WORK/rt-$name" ] || { cp -a "$rt" "$WORK/rt-$name" && sync -f "$WORK/rt-$name/runtime/lib/modules"; }
    launcher="$WORK/rt-$name/bin/handlewatch-agent"
  fi
  echo "$EPOCHREALTIME" >"$SD/$name.exec"
  if [[ "$name" == sample* ]]; then # one-shot samples for the whole window, JSON thrown away
    start_bg "$CPU_AGENT" "$SD/$name.log" env HANDLEWATCH_AGENT_JAVA_OPTS="$opts" sh -c \
      '"$0" sample --json --compact --count "$1" --interval "$2" >/dev/null' "$launcher" \
      $((DUR_S / IV_S + 30)) "$INTERVAL"
    return
  fi
  start_bg "$CPU_AGENT" "$SD/$name.log" env HANDLEWATCH_AGENT_JAVA_OPTS="$opts" "$launcher" run \
    --collector "127.0.0.1:$GRPC" --interval "$INTERVAL" --host "$name" --state-dir "$WORK/state-$name"
}
java_pid() { # PID of a started agent: the launcher execs java, but sample runs under sh -c
  local c
  c=$(pgrep -P "$1" -x java | head -1)
  echo "${c:-$1}"
}
await_first_report() { # NAME PID: waits (bounded) for "stream accepted"; records the CPU ticks then
  local i
  for i in $(seq 1 $((IV_S * 100 + 6000))); do
    if grep -q 'stream accepted' "$SD/$1.log" 2>/dev/null; then
      echo "$EPOCHREALTIME $(ticks "$2")" >"$SD/$1.first"
      return 0
    fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.01
  done
  log "$1: no report acknowledged (see $SD/$1.log)"
  return 1
}

SCALE_INDEX=0
for S in "${SCALE_LIST[@]}"; do
  SCALE_INDEX=$((SCALE_INDEX + 1))
  SD="$RAW/scale-$S"; mkdir -p "$SD"
  PAIRS=$(awk -v s="$S" 'BEGIN { printf "%d", s * 160 / 170 / 2 + 0.5 }')
  CW=$(awk -v s="$S" 'BEGIN { printf "%d", s * 10 / 170 + 0.5 }')
  raise_sysctl net.core.somaxconn 1024
  raise_sysctl net.ipv4.tcp_max_tw_buckets $((CW * 2 + 20000))
  raise_sysctl fs.file-max $((4 * PAIRS + 2 * CW + 200000))
  log "scale $S: SocketLoad ($PAIRS pairs, $CW CLOSE_WAIT, $CW TIME_WAIT)"
  start_bg "$CPU_LOAD" "$SD/socketload.out" "$JAVA" "$ROOT/bench/SocketLoad.java" --established "$PAIRS" \
    --close-wait "$CW" --time-wait "$CW" --time-wait-mode steady --base-port $((23000 + 100 * SCALE_INDEX)) \
    --hold-seconds $((DUR_S + 1800)) --ignore-stdin
  SL_PID=$STARTED_PID
  READY=""
  for _ in $(seq 1 1500); do
    READY=$(grep -m1 '^READY' "$SD/socketload.out" 2>/dev/null) && break
    kill -0 "$SL_PID" 2>/dev/null || break
    sleep 0.2
  done
  [ -n "$READY" ] || die "scale $S: SocketLoad did not get ready (see $SD/socketload.out)"
  log "scale $S: $READY"
  SOCKETS=$(awk '/^TCP:/ {print $3 + $7}' /proc/net/sockstat) # inuse + tw
  echo "loadavg_start $(cut -d' ' -f1-3 /proc/loadavg)" >"$SD/machine.txt"
  read -r tot0 idle0 < <(cpu_snapshot)

  declare -A PID=() GROUP=()
  start_agent before "$WORK/before/bin/handlewatch-agent"; PID[before]=$STARTED_PID
  await_first_report before "${PID[before]}"
  start_agent after "$WORK/after/bin/handlewatch-agent"; PID[after]=$STARTED_PID
  await_first_report after "${PID[after]}"
  start_agent before-nmt "$WORK/before/bin/handlewatch-agent" -XX:NativeMemoryTracking=summary; PID[before-nmt]=$STARTED_PID
  start_agent after-nmt "$WORK/after/bin/handlewatch-agent" -XX:NativeMemoryTracking=summary; PID[after-nmt]=$STARTED_PID
  NAMES=(before after)
  for e in "${EXTRA[@]}"; do
    rt=after; [[ "${e%%=*}" == *-before ]] && rt=before
    start_agent "${e%%=*}" "$WORK/$rt/bin/handlewatch-agent" "${e#*=}"
    sleep 1
    GROUP[${e%%=*}]=$STARTED_PID; PID[${e%%=*}]=$(java_pid "$STARTED_PID"); NAMES+=("${e%%=*}")
  done

  log "scale $S: measuring for $DUR_S s"
  END=$((SECONDS + DUR_S))
  CLEARED=0
  while [ "$SECONDS" -lt "$END" ]; do
    if [ "$CLEARED" -eq 0 ] && [ $((END - SECONDS)) -le "$IV_S" ]; then
      for a in "${NAMES[@]}"; do echo 1 >"/proc/${PID[$a]}/clear_refs" 2>/dev/null || log "clear_refs $a failed"; done
      CLEARED=1
    fi
    for a in "${NAMES[@]}"; do
      p=${PID[$a]}
      kill -0 "$p" 2>/dev/null || die "scale $S: agent $a died (see $SD/$a.log)"
      echo "$EPOCHREALTIME $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status") $(ls "/proc/$p/task" | wc -l) $(ticks "$p") $(majflt "$p")" >>"$SD/$a.samples"
    done
    sleep "$IV_S"
  done
  read -r tot1 idle1 < <(cpu_snapshot)
  echo "busy_pct $(awk -v t="$((tot1 - tot0))" -v i="$((idle1 - idle0))" 'BEGIN { printf "%.1f", t ? 100 * (t - i) / t : 0 }')" >>"$SD/machine.txt"
  echo "loadavg_end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SD/machine.txt"
  echo "sockets $SOCKETS" >>"$SD/machine.txt"
  for a in "${NAMES[@]}"; do
    p=${PID[$a]}
    ls "/proc/$p/task" | wc -l >"$SD/$a.threads"
    cat /proc/"$p"/task/*/comm | sort | uniq -c | awk '{ n = $1; $1 = ""; sub(/^ /, ""); printf "%s%s", (NR > 1 ? ", " : ""), (n > 1 ? $0 " ×" n : $0) }' >"$SD/$a.thread-names"
    awk '/^VmHWM:/ {print $2}' "/proc/$p/status" >"$SD/$a.hwm"
    cat "/proc/$p/smaps_rollup" >"$SD/$a.smaps_rollup"
    cat "/proc/$p/smaps" >"$SD/$a.smaps"
    # Classes from the AOT cache count apart (sharedLoadedClasses): both together are what loaded.
    "$JCMD" "$p" PerfCounter.print 2>/dev/null |
      awk -F= '/^java.cls.(shared)?[lL]oadedClasses=/ {n += $2} END {print n}' >"$SD/$a.classes"
    [ -z "${PID[$a-nmt]:-}" ] || "$JCMD" "${PID[$a-nmt]}" VM.native_memory summary >"$SD/$a.nmt" 2>&1
  done
  for a in "${NAMES[@]}" before-nmt after-nmt; do stop_group "${GROUP[$a]:-${PID[$a]}}"; done
  stop_group "$SL_PID"
  unset PID GROUP
done

# --- report ----------------------------------------------------------------------------------------
EXTRA_NAMES="${EXTRA[*]%%=*}" python3 - "$RAW" "$IV_S" "$DUR_S" "$BASE_REV" "$AFTER_REV" "$NE_VERSION" "$CPU_LOAD" "$CPU_AGENT" \
  "$(nproc)" "$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)" "$("$JAVA" -version 2>&1 | head -1)" "${SCALE_LIST[@]}" <<'PY' | tee "$RAW.md"
import os, re, statistics, sys
raw, iv, dur, base, after, nev, cload, cagent, ncpu, mem, jdk = sys.argv[1:12]
scales = sys.argv[12:]
iv = int(iv)
def rd(p, default=""):
    try: return open(p).read().strip()
    except OSError: return default
def kv(p):
    d = {}
    for l in rd(p).splitlines():
        k, _, v = l.partition(" ")
        d[k] = v
    return d
def mib(kb): return f"{int(kb) / 1024:.1f}"
def smaps(p):
    d = {}
    for l in rd(p).splitlines():
        m = re.match(r"(\w+):\s+(\d+) kB", l)
        if m: d[m.group(1)] = int(m.group(2))
    return d
def nmt(p):
    d = {}
    for l in rd(p).splitlines():
        m = re.match(r"^(?:-\s+)?([A-Za-z][A-Za-z ]*?)\s+\(reserved=\d+KB, committed=(\d+)KB", l.strip())
        if m: d[m.group(1)] = int(m.group(2))
        m = re.match(r"^Total: reserved=\d+KB, committed=(\d+)KB", l.strip())
        if m: d["Total"] = int(m.group(1))
    return d
ne = kv(f"{raw}/node_exporter.txt")
print(f"# Agent daemon footprint — before ({base}) and after ({after}), side by side\n")
print(f"- machine: {ncpu} cores, {mem} GiB; {jdk}; both agents from their jlink runtimes (bin/dev/build-dist agent), `run --interval {iv}s` to a collector on loopback (memory store)")
print(f"- agents pinned to CPU {cagent}, collector and socket load to CPU {cload}; measured for {dur} s per scale, sampled every {iv} s")
print(f"- node_exporter ({ne.get('version','?')}), default collectors on a loopback port: **{mib(ne.get('idle_kb',0))} MiB** VmRSS idle after 30 s, {mib(ne.get('scraped_kb',0))} MiB after one scrape, {ne.get('threads','?')} threads\n")
for s in scales:
    sd = f"{raw}/scale-{s}"
    mach = kv(f"{sd}/machine.txt")
    print(f"## {int(mach.get('sockets', 0)):,} TCP sockets on the host (load scale {s})\n")
    print(f"Load average {mach.get('loadavg_start','?')} at the start, {mach.get('loadavg_end','?')} at the end; the machine was {mach.get('busy_pct','?')} % busy over the window.\n")
    rows = {}
    extras = os.environ.get("EXTRA_NAMES", "").split()
    for a in ["before", "after"] + extras:
        samp = [l.split() for l in rd(f"{sd}/{a}.samples").splitlines() if l.strip()]
        rss = [int(x[1]) for x in samp if x[1].isdigit()]
        thr = [int(x[2]) for x in samp if x[2].isdigit()]
        tk = [(float(x[0]), int(x[3])) for x in samp if x[3].isdigit()]
        cpu = [(b[1] - a_[1]) * 10 / ((b[0] - a_[0]) / iv) for a_, b in zip(tk, tk[1:]) if b[0] > a_[0]]
        mf = [int(x[4]) for x in samp if len(x) > 4 and x[4].isdigit()]
        ex = float(rd(f"{sd}/{a}.exec", "nan"))
        first = rd(f"{sd}/{a}.first", "nan nan").split()
        log = rd(f"{sd}/{a}.log")
        m = re.search(r"first sample in ([0-9,]+) ms", log)
        delay = int(m.group(1).replace(",", "")) / 1000 if m else float("nan")
        wall = float(first[0]) - ex - delay
        sm = smaps(f"{sd}/{a}.smaps_rollup")
        rows[a] = dict(
            rss_med=statistics.median(rss) / 1024 if rss else float("nan"),
            rss_max=max(rss) / 1024 if rss else float("nan"),
            hwm=int(rd(f"{sd}/{a}.hwm", "0") or 0) / 1024,
            anon=sm.get("Anonymous", 0) / 1024, file=(sm.get("Rss", 0) - sm.get("Anonymous", 0)) / 1024,
            pdirty=sm.get("Private_Dirty", 0) / 1024,
            pss=sm.get("Pss", 0) / 1024,
            rss_first=rss[0] / 1024 if rss else float("nan"), rss_last=rss[-1] / 1024 if rss else float("nan"),
            majflt_window=mf[-1] - mf[0] if mf else float("nan"), majflt_end=mf[-1] if mf else float("nan"),
            threads=int(rd(f"{sd}/{a}.threads", "0") or 0), thr_max=max(thr) if thr else 0,
            names=rd(f"{sd}/{a}.thread-names"),
            classes=int(rd(f"{sd}/{a}.classes", "0") or 0),
            cpu_med=statistics.median(cpu) if cpu else float("nan"), cpu_max=max(cpu) if cpu else float("nan"),
            start=wall, start_cpu=int(first[1]) * 10 if first[1].isdigit() else float("nan"),
            nmt=nmt(f"{sd}/{a}.nmt"))
    b, a_ = rows["before"], rows["after"]
    def r(k, f="{:.1f}"):
        x, y = b[k], a_[k]
        ratio = f"{y / x:.2f}" if isinstance(x, (int, float)) and x else "–"
        return f"| {f.format(x)} | {f.format(y)} | {ratio} |"
    print("| measure | before | after | after/before |\n| --- | ---: | ---: | ---: |")
    print(f"| RSS, median of the window (MiB) {r('rss_med')}")
    print(f"| RSS, highest sample (MiB) {r('rss_max')}")
    print(f"| RSS, first / last sample of the window (MiB) | {b['rss_first']:.1f} / {b['rss_last']:.1f} | {a_['rss_first']:.1f} / {a_['rss_last']:.1f} | |")
    print(f"| VmHWM, peak since start (MiB) {r('hwm')}")
    print(f"| Pss at the end (MiB) {r('pss')}")
    print(f"| major faults over the window (since start) | {b['majflt_window']} ({b['majflt_end']}) | {a_['majflt_window']} ({a_['majflt_end']}) | |")
    print(f"| at the end: anonymous (MiB) {r('anon')}")
    print(f"| at the end: file-backed (MiB) {r('file')}")
    print(f"| at the end: private dirty (MiB) {r('pdirty')}")
    print(f"| threads at the end (highest sample) | {b['threads']} ({b['thr_max']}) | {a_['threads']} ({a_['thr_max']}) | |")
    print(f"| classes loaded (from the jar and the JDK, and from an AOT cache) {r('classes', '{:,}')}")
    print(f"| CPU per interval, median (ms) {r('cpu_med')}")
    print(f"| CPU per interval, worst (ms) {r('cpu_max')}")
    print(f"| start-up: exec to first report acknowledged, less the announced first-sample delay (s) {r('start', '{:.2f}')}")
    print(f"| CPU spent by then (ms) {r('start_cpu', '{:.0f}')}")
    print()
    print(f"Threads before: {b['names']}  \nThreads after: {a_['names']}\n")
    if extras:
        print("More agents side by side (the after runtime unless named `-before`; `sample*`: the one-shot command, `sample --count`):\n")
        print("| agent | RSS median (MiB) | highest | first / last | Pss at the end | anonymous / file-backed / private dirty at the end | major faults in the window (since start) | threads | CPU per interval, median (worst) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for e in ["before", "after"] + extras:
            x = rows[e]
            print(f"| {e} | {x['rss_med']:.1f} | {x['rss_max']:.1f} | {x['rss_first']:.1f} / {x['rss_last']:.1f} | {x['pss']:.1f} | {x['anon']:.1f} / {x['file']:.1f} / {x['pdirty']:.1f} | {x['majflt_window']} ({x['majflt_end']}) | {x['threads']} | {x['cpu_med']:.1f} ({x['cpu_max']:.1f}) ms |")
        print()
    cats = ["Total", "Java Heap", "Class", "Metaspace", "Symbol", "Shared class space", "Code", "Thread", "Internal", "Arena Chunk", "Compiler", "Native Memory Tracking", "Other"]
    print("| NMT, committed (MiB; twins run with -XX:NativeMemoryTracking=summary) | before | after |\n| --- | ---: | ---: |")
    for c in cats:
        if c in b["nmt"] or c in a_["nmt"]:
            print(f"| {c} | {b['nmt'].get(c, 0) / 1024:.1f} | {a_['nmt'].get(c, 0) / 1024:.1f} |")
    print()
PY
for S in "${SCALE_LIST[@]}"; do
  cols=()
  for e in before after "${EXTRA[@]%%=*}"; do cols+=("$e=$RAW/scale-$S/$e.smaps"); done
  { echo "Resident set by mapping at the end, load scale $S (bench/lib/smaps-breakdown.py):"; echo
    python3 "$ROOT/bench/lib/smaps-breakdown.py" "${cols[@]}"
    echo; echo "Of that, referenced during the last interval (the page bits were cleared one interval before the end):"; echo
    python3 "$ROOT/bench/lib/smaps-breakdown.py" --referenced "${cols[@]}"
    echo; } | tee -a "$RAW.md"
done
log "report: $RAW.md"
