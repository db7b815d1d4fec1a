#!/usr/bin/env bash
# What does it cost to count TCP sockets by state on a busy host? Side by side, at several socket
# counts: ss, ss -p, /proc/net/tcp, netstat, node_exporter's tcpstat collector, and the
# handlewatch agent.
#
#   bench/tcp-sample-bench.sh [--scales 1000,10000,170000] [--out bench/results] [--reps 5]
#       [--time-wait-mode steady|once] [--agent PATH] [--no-agent] [--no-build] [--no-install]
#   bench/tcp-sample-bench.sh --netns [--child-ehash N] [--compare-agent PATH [--pin CPUS]] [--out bench/results]
#
# --compare-agent PATH measures the full agent sample of this tree against another build (e.g. a
# worktree of an older commit: PATH/bin/handlewatch-agent) on the same load, alternating the two
# for --compare-rounds rounds (3), each pinned with taskset to --pin CPUS when given; it replaces
# the agent's usual three runs, and --agent-only leaves out ss, netstat, cat and node_exporter.
#
# --netns measures the agent alone across network namespaces instead (bench/lib/netns-scenarios.sh):
# 180,000 sockets in 100 namespaces vs the same in one; 250 namespaces of 40 sockets; each through
# setns + netlink and through the /proc/PID/net/tcp fallback (CAP_SYS_ADMIN dropped), with RSS.
# With --compare-agent it alternates PATH (before) and this tree (after) on each load, pinned with
# --pin, and times the parts of one namespace's count apart (bench/NetnsParts.py). Namespaces are
# named $HW_NETNS_PREFIX-PID-... (hwb by default).
# --child-ehash N sets net.ipv4.tcp_child_ehash_entries=N for the run (restored on exit): the
# namespaces made then get a TCP hash table of their own instead of sharing the host's.
#
# A scale S is the number of sockets holding a file descriptor, in the mix measured in the issue:
# 170,000 = 160,000 ESTABLISHED (80,000 loopback pairs) + 10,000 CLOSE_WAIT, plus 10,000 TIME_WAIT
# (which hold no fd), so S=170000 puts 180,000 TCP sockets in the kernel's table. Smaller scales
# keep the ratios (S=1000: 471 pairs, 59 CLOSE_WAIT, 59 TIME_WAIT).
#
# Per scale: bench/SocketLoad.java makes the sockets (all on loopback) and prints READY; then each
# tool runs --reps rounds, round robin, and the table shows the median per run (wall ms, and CPU ms
# = user+sys of the process, for node_exporter the delta of its utime+stime around the scrapes).
# Fast commands run several times per round so that the clocks' resolution does not matter.
# TIME_WAIT lasts 60 s, so by default SocketLoad keeps the TIME_WAIT count steady by making
# N/61 s new ones per second (a light churn: ~160 connects/s at S=170000); READY comes once the
# count is reached, about a minute after start. --time-wait-mode once makes them once instead.
#
# The agent is run as `bin/handlewatch-agent sample --json --compact --count 5 --interval 2s
# [--tcp-only]`, one JSON HostSample per line; its own health numbers are reported (the `tcp`
# source's wallMicros/cpuMicros, and the whole sample's), plus its peak RSS (/usr/bin/time %M).
# When the agent cannot be built or run, its rows say why and the rest goes on.
#
# Needs root (ss -p sees every process, apt-get installs what is missing). Everything it starts is
# stopped on exit (process groups), and sysctls it had to raise are restored.
# Output: markdown on stdout and in <out>/tcp-sample-<date>.md; raw data in <out>/tcp-sample-<date>/.
set -u -o pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
SCALES=1000,10000,170000
OUT="$ROOT/bench/results"
REPS=5
TW_MODE=steady
AGENT="$ROOT/bin/handlewatch-agent"
AGENT_JAR="$ROOT/agent/target/handlewatch-agent.jar"
RUN_AGENT=1
NETNS=0
CHILD_EHASH=0
BUILD=1
INSTALL=1
AGENT_COUNT=5
AGENT_INTERVAL=2s
BASE_AGENT=""
PIN=""
AGENT_ONLY=0
CMP_ROUNDS=3

usage() { sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --scales) SCALES=${2:?}; shift 2 ;;
    --scales=*) SCALES=${1#*=}; shift ;;
    --out) OUT=${2:?}; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --reps) REPS=${2:?}; shift 2 ;;
    --reps=*) REPS=${1#*=}; shift ;;
    --time-wait-mode) TW_MODE=${2:?}; shift 2 ;;
    --time-wait-mode=*) TW_MODE=${1#*=}; shift ;;
    --agent) AGENT=${2:?}; shift 2 ;;
    --agent=*) AGENT=${1#*=}; shift ;;
    --no-agent) RUN_AGENT=0; shift ;;
    --compare-agent) BASE_AGENT=${2:?}; shift 2 ;;
    --compare-rounds) CMP_ROUNDS=${2:?}; shift 2 ;;
    --pin) PIN=${2:?}; shift 2 ;;
    --agent-only) AGENT_ONLY=1; shift ;;
    --netns) NETNS=1; shift ;;
    --child-ehash) CHILD_EHASH=${2:?}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-install) INSTALL=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$TW_MODE" in once|steady) ;; *) echo "--time-wait-mode must be once or steady" >&2; exit 2 ;; esac
[[ "$REPS" =~ ^[1-9][0-9]?$ ]] || { echo "--reps must be 1..99" >&2; exit 2; }
[[ "$CMP_ROUNDS" =~ ^[1-9]$ ]] || { echo "--compare-rounds must be 1..9" >&2; exit 2; }
[ -z "$BASE_AGENT" ] || [ -x "$BASE_AGENT" ] || { echo "--compare-agent: not executable: $BASE_AGENT" >&2; exit 2; }
PINCMD=()
if [ -n "$PIN" ]; then
  command -v taskset >/dev/null || { echo "--pin needs taskset (util-linux)" >&2; exit 2; }
  PINCMD=(taskset -c "$PIN")
fi
IFS=, read -r -a SCALE_LIST <<<"$SCALES"
for s in "${SCALE_LIST[@]}"; do
  [[ "$s" =~ ^[1-9][0-9]*$ ]] && [ "$s" -le 1000000 ] || { echo "bad scale: $s" >&2; exit 2; }
done
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)

log() { echo "[bench $(date +%T)] $*" >&2; }
die() { echo "tcp-sample-bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (ss -p must see every process; apt-get installs what is missing)"

# ------------------------------------------------------------------------------------------------
# Cleanup: everything we start runs in its own process group (setsid); kill the groups on exit.
# ------------------------------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/tcp-sample-bench.XXXXXX)
PGIDS=()            # process groups we started and have not stopped yet
SYSCTL_RESTORE=()   # "name=value" to put back
SL_IN=""            # write end of SocketLoad's stdin (a fifo): when we die, SocketLoad sees EOF

stop_group() { # $1 = pgid; TERM, then KILL after a bounded wait
  local g=$1 i
  kill -0 -- "-$g" 2>/dev/null || return 0
  kill -TERM -- "-$g" 2>/dev/null
  for i in $(seq 1 100); do kill -0 -- "-$g" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL -- "-$g" 2>/dev/null
  for i in $(seq 1 25); do kill -0 -- "-$g" 2>/dev/null || return 0; sleep 0.2; done
}
forget_group() { local g=$1 x keep=(); for x in "${PGIDS[@]}"; do [ "$x" = "$g" ] || keep+=("$x"); done; PGIDS=("${keep[@]}"); }
cleanup() {
  local g kv
  trap - EXIT INT TERM
  for g in "${PGIDS[@]}"; do stop_group "$g"; done
  [ -n "$SL_IN" ] && exec {SL_IN}>&-
  for kv in "${SYSCTL_RESTORE[@]}"; do
    sysctl -q -w "$kv" >/dev/null 2>&1 && log "restored sysctl $kv" || log "could not restore sysctl $kv"
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Starts "$@" in a new session (own process group), stdout/stderr to $1/$2; sets STARTED_PID.
start_bg() {
  local out=$1 err=$2; shift 2
  setsid "$@" >"$out" 2>"$err" </dev/null {SL_IN}>&- &
  STARTED_PID=$!
  PGIDS+=("$STARTED_PID")
}

raise_sysctl() { # $1 = name, $2 = minimum: raise it if lower, remember the old value
  local name=$1 min=$2 cur
  cur=$(sysctl -n "$name" 2>/dev/null) || return 0
  if [ "$cur" -lt "$min" ] 2>/dev/null; then
    if sysctl -q -w "$name=$min" >/dev/null 2>&1; then
      SYSCTL_RESTORE+=("$name=$cur")
      log "raised sysctl $name $cur -> $min (restored on exit)"
      SYSCTL_NOTES+=("$name raised from $cur to $min for the run")
    else
      log "warning: could not raise $name from $cur to $min"
    fi
  fi
}
SYSCTL_NOTES=()

# ------------------------------------------------------------------------------------------------
# Tools: install what is missing (apt-get update once).
# ------------------------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() { # packages...; returns non-zero when they could not be installed
  [ "$INSTALL" -eq 1 ] || { log "not installing $* (--no-install)"; return 1; }
  command -v apt-get >/dev/null || { log "no apt-get: install $* by hand"; return 1; }
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -qq >/dev/null 2>"$TMP/apt.err" || { cat "$TMP/apt.err" >&2; return 1; }
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>"$TMP/apt.err" || { cat "$TMP/apt.err" >&2; return 1; }
}
NODE_EXPORTER=/usr/bin/prometheus-node-exporter
need=()
command -v ss >/dev/null || need+=(iproute2)
command -v sysctl >/dev/null && command -v free >/dev/null || need+=(procps)
[ -x "$NODE_EXPORTER" ] || need+=(prometheus-node-exporter)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
[ -x /usr/bin/time ] || need+=(time)
command -v setsid >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}" || die "could not install: ${need[*]}"; fi
for t in ss sysctl curl jq setsid timeout /usr/bin/time "$NODE_EXPORTER"; do
  command -v "$t" >/dev/null || die "missing after install: $t"
done
HAVE_NETSTAT=1
if ! command -v netstat >/dev/null; then
  apt_install net-tools || true
  command -v netstat >/dev/null || { HAVE_NETSTAT=0; log "netstat not available: its rows are skipped"; }
fi

# ------------------------------------------------------------------------------------------------
# JDK 25: JAVA_HOME when it is 25 or newer, then /usr/lib/jvm/*25* (and newer).
# ------------------------------------------------------------------------------------------------
java_major() { "$1" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2; exit}'; }
find_jdk() {
  local c v cands=()
  [ -n "${JAVA_HOME:-}" ] && cands+=("$JAVA_HOME")
  for c in /usr/lib/jvm/*; do case "$(basename "$c")" in *2[5-9]*|*3[0-9]*) cands+=("$c") ;; esac; done
  for c in "${cands[@]}"; do
    [ -x "$c/bin/java" ] || continue
    v=$(java_major "$c/bin/java")
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then echo "$c"; return 0; fi
  done
  return 1
}
JDK=$(find_jdk) || die "no JDK 25 or newer (looked at JAVA_HOME=${JAVA_HOME:-unset} and /usr/lib/jvm/*25*); install Temurin 25 or set JAVA_HOME"
export JAVA_HOME=$JDK
JAVA="$JDK/bin/java"
log "JDK: $JDK ($("$JAVA" -version 2>&1 | head -1))"

# ------------------------------------------------------------------------------------------------
# The agent: build it when its jar is missing; check that it runs and knows the flags we use.
# ------------------------------------------------------------------------------------------------
AGENT_NOTE=""
if [ "$RUN_AGENT" -eq 0 ]; then
  AGENT_NOTE="not run (--no-agent)"
elif [ ! -x "$AGENT" ]; then
  AGENT_NOTE="not run: $AGENT does not exist yet"
else
  if [ "$AGENT" = "$ROOT/bin/handlewatch-agent" ] && [ ! -f "$AGENT_JAR" ]; then
    if [ "$BUILD" -eq 0 ]; then
      AGENT_NOTE="not run: $AGENT_JAR missing and --no-build given"
    else
      command -v mvn >/dev/null || apt_install maven || true
      if ! command -v mvn >/dev/null; then
        AGENT_NOTE="not run: maven missing, cannot build the agent"
      else
        log "building the project (mvn -B -q -DskipTests install) ..."
        if ! (cd "$ROOT" && timeout 1800 mvn -B -q -DskipTests install) >"$TMP/build.log" 2>&1; then
          tail -20 "$TMP/build.log" >&2
          AGENT_NOTE="not run: the build failed (mvn -B -DskipTests install in $ROOT)"
        fi
      fi
    fi
  fi
  if [ -z "$AGENT_NOTE" ]; then
    # Also lets bin/handlewatch-agent rebuild now if its sources are newer than the jar, so that
    # no build lands inside a measurement.
    if ! timeout 1800 "$AGENT" sample --help >"$TMP/agent-help" 2>&1; then
      tail -5 "$TMP/agent-help" >&2
      AGENT_NOTE="not run: \`$AGENT sample --help\` failed ($(tail -1 "$TMP/agent-help" | cut -c1-120))"
    else
      for f in --json --compact --count --interval --tcp-only; do
        grep -q -- "$f" "$TMP/agent-help" || AGENT_NOTE="not run: the agent's sample command has no $f option yet"
      done
    fi
  fi
fi
[ -n "$AGENT_NOTE" ] && log "agent: $AGENT_NOTE"

# ------------------------------------------------------------------------------------------------
# Measuring.
# ------------------------------------------------------------------------------------------------
# measure.sh K CMD...: runs CMD K times (output to /dev/null) and prints "wall_ms cpu_ms rc" per
# run; CPU is the children's user+sys from bash's `times` (no fork in the measured interval).
cat >"$TMP/measure.sh" <<'EOF'
#!/usr/bin/env bash
k=$1; shift
d=$(mktemp -d)
times >"$d/t0"; t0=$EPOCHREALTIME
rc=0
for ((i = 0; i < k; i++)); do "$@" >/dev/null 2>&1 || rc=$?; done
t1=$EPOCHREALTIME; times >"$d/t1"
# second line of `times`: children's user and system time, e.g. "0m0.012s 0m0.020s"
awk -v k="$k" -v t0="$t0" -v t1="$t1" -v rc="$rc" '
  function sec(v,  m) { m = v; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", v); sub(/s$/, "", v); return m * 60 + v }
  FNR == 2 { c[FILENAME] = sec($1) + sec($2) }
  END { printf "%.3f %.3f %d\n", (t1 - t0) * 1000 / k, (c[ARGV[2]] - c[ARGV[1]]) * 1000 / k, rc }
' "$d/t0" "$d/t1"
rm -rf "$d"
EOF
chmod +x "$TMP/measure.sh"

median() { sort -g | awk '{v[NR] = $1} END { if (NR == 0) { print "nan"; exit } if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END { if (NR) printf "%s–%s", fmt(lo), fmt(hi) } function fmt(x) { return x < 10 ? sprintf("%.2f", x) : sprintf("%.0f", x) }'; }
fmt_ms() { awk -v x="$1" 'BEGIN { if (x == "nan" || x == "") print "–"; else if (x < 10) printf "%.2f", x; else if (x < 100) printf "%.1f", x; else printf "%.0f", x }'; }

# How many runs per round: enough for ~250 ms, at most 100.
calibrate() { # CMD...
  local w
  w=$(timeout 300 "$TMP/measure.sh" 1 "$@" | awk '{print $1}') || { echo 1; return; }
  awk -v w="$w" 'BEGIN { k = int(250 / (w + 0.001)) + 1; if (k > 100) k = 100; if (k < 1) k = 1; print k }'
}

cpu_snapshot() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6; exit }' /proc/stat; } # total idle+iowait
proc_cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; } # utime+stime
CLK_TCK=$(getconf CLK_TCK)

free_port() { local p; for p in $(seq 19100 19199); do [ -z "$(ss -Htan "sport = :$p")" ] && { echo "$p"; return 0; }; done; return 1; }

states_line() { ss -Htan | awk '{n[$1]++} END { for (s in n) printf "%s=%d ", s, n[s] }' | tr ' ' '\n' | sort | tr '\n' ' '; }
sockstat_line() { awk '/^TCP:/ { sub(/^TCP: /, ""); print }' /proc/net/sockstat; }
state_count() { echo "$1" | tr ' ' '\n' | awk -F= -v s="$2" '$1 == s {print $2}'; }
fmt_int() { echo "${1:-0}" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
export LC_NUMERIC=C

# ------------------------------------------------------------------------------------------------
# Run.
# ------------------------------------------------------------------------------------------------
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
REPORT="$OUT/tcp-sample-$STAMP.md"
RAW="$OUT/tcp-sample-$STAMP"
mkdir -p "$RAW"

mkfifo "$TMP/socketload.in"
exec {SL_IN}<>"$TMP/socketload.in"

MEM_KB=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
NE_VERSION=$("$NODE_EXPORTER" --version 2>&1 | head -1)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
{
  echo "# TCP state sampling cost — $STAMP"
  echo
  echo "- machine: $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk -v k="$MEM_KB" 'BEGIN {printf "%.1f GiB", k / 1048576}') RAM, kernel $(uname -r)"
  echo "- JDK: $("$JAVA" -version 2>&1 | head -1); ss: $(ss -V 2>&1 | head -1); node_exporter: $NE_VERSION; repo: $GIT_REV"
  echo "- load: bench/SocketLoad.java on loopback, TIME_WAIT mode \`$TW_MODE\`$([ "$TW_MODE" = steady ] && echo " (about N/61 new TIME_WAIT sockets per second keep the count near N)")"
  echo "- medians of $REPS rounds, round robin; fast commands run k times per round (k in the table) and report per run; CPU = user+sys of the command (for node_exporter: its utime+stime around the scrapes)"
  echo "- sysctls: ip_local_port_range $(sysctl -n net.ipv4.ip_local_port_range | tr '\t' ' '), somaxconn $(sysctl -n net.core.somaxconn), tcp_max_tw_buckets $(sysctl -n net.ipv4.tcp_max_tw_buckets), tcp_tw_reuse $(sysctl -n net.ipv4.tcp_tw_reuse)"
  echo
} >"$TMP/head.md"

if [ "$NETNS" -eq 1 ]; then
  . "$ROOT/bench/lib/netns-scenarios.sh"
  run_netns_scenarios
  exit 0
fi

SCALE_INDEX=0
for S in "${SCALE_LIST[@]}"; do
  SCALE_INDEX=$((SCALE_INDEX + 1))
  PAIRS=$(awk -v s="$S" 'BEGIN { printf "%d", s * 160 / 170 / 2 + 0.5 }')
  CW=$(awk -v s="$S" 'BEGIN { printf "%d", s * 10 / 170 + 0.5 }')
  TW=$CW
  BASE_PORT=$((21000 + 100 * SCALE_INDEX))
  SD="$RAW/scale-$S"; mkdir -p "$SD"
  MD="$TMP/scale-$S.md"
  log "scale $S: $PAIRS pairs, $CW CLOSE_WAIT, $TW TIME_WAIT"

  raise_sysctl net.core.somaxconn 1024
  raise_sysctl net.ipv4.tcp_max_tw_buckets $((TW * 2 + 20000))
  raise_sysctl fs.file-max $((2 * PAIRS * 2 + CW * 2 + 200000))

  # --- the load ----------------------------------------------------------------------------------
  T_START=$EPOCHREALTIME
  setsid "$JAVA" "$ROOT/bench/SocketLoad.java" --established "$PAIRS" --close-wait "$CW" \
    --time-wait "$TW" --time-wait-mode "$TW_MODE" --base-port "$BASE_PORT" --hold-seconds 3600 \
    <"$TMP/socketload.in" >"$SD/socketload.out" 2>"$SD/socketload.err" {SL_IN}>&- &
  SL_PID=$!
  PGIDS+=("$SL_PID")
  READY=""
  for i in $(seq 1 1200); do # 240 s
    READY=$(grep -m1 '^READY' "$SD/socketload.out" 2>/dev/null) && break
    kill -0 "$SL_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$READY" ]; then
    log "scale $S: SocketLoad did not get ready; see $SD/socketload.err"
    tail -5 "$SD/socketload.err" >&2
    { echo "## scale $S"; echo; echo "SocketLoad did not get ready (see \`$SD/socketload.err\`): $(grep -v '^\s*at ' "$SD/socketload.err" | tail -1)"; echo; } >"$MD"
    stop_group "$SL_PID"; forget_group "$SL_PID"
    continue
  fi
  SETUP_S=$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  log "scale $S: $READY (${SETUP_S} s)"
  # How busy the host is without us measuring anything (SocketLoad's steady TIME_WAIT churn, and
  # whatever else runs here): 3 s of /proc/stat.
  read -r tot0 idle0 < <(cpu_snapshot); sleep 3; read -r tot1 idle1 < <(cpu_snapshot)
  BASELINE_BUSY=$(awk -v t="$((tot1 - tot0))" -v i="$((idle1 - idle0))" 'BEGIN { printf "%.1f", t ? 100 * (t - i) / t : 0 }')
  STATES_BEFORE=$(states_line); SOCKSTAT_BEFORE=$(sockstat_line)
  WORKERS=$(echo "$READY" | sed -n 's/.* pids=\([^ ]*\).*/\1/p' | tr ',' '\n' | grep -c .)

  # --- node_exporter ---------------------------------------------------------------------------
  NE_PORT=$(free_port) || NE_PORT=""
  NE_PID=""
  [ "$AGENT_ONLY" -eq 1 ] && NE_PORT=""
  if [ -n "$NE_PORT" ]; then
    start_bg "$SD/node_exporter.out" "$SD/node_exporter.err" "$NODE_EXPORTER" \
      --web.listen-address="127.0.0.1:$NE_PORT" --collector.disable-defaults --collector.tcpstat
    NE_PID=$STARTED_PID
    NE_URL="http://127.0.0.1:$NE_PORT/metrics"
    for i in $(seq 1 100); do curl -sf -o /dev/null --max-time 2 "$NE_URL" 2>/dev/null && break; sleep 0.1; done
    NE_FIRST=$(curl -s -o "$SD/node_exporter.metrics" --max-time 120 -w '%{time_total}' "$NE_URL")
    NE_FIRST_MS=$(awk -v t="$NE_FIRST" 'BEGIN { printf "%.2f", t * 1000 }')
    grep -E '^node_tcp_connection_states' "$SD/node_exporter.metrics" >"$SD/node_exporter.states" || true
  fi

  # --- rounds ------------------------------------------------------------------------------------
  declare -A K=() WALL=() CPU=() RC=()
  TOOLS=(ss ssp cat)
  [ "$HAVE_NETSTAT" -eq 1 ] && TOOLS+=(netstat)
  [ -n "$NE_PID" ] && TOOLS+=(ne)
  [ "$AGENT_ONLY" -eq 1 ] && TOOLS=()
  cmd_of() {
    case "$1" in
      ss) echo "ss -tan" ;;
      ssp) echo "ss -tanp" ;;
      cat) echo "cat /proc/net/tcp /proc/net/tcp6" ;;
      netstat) echo "netstat -tan" ;;
    esac
  }
  for t in "${TOOLS[@]}"; do
    if [ "$t" = ne ]; then
      K[ne]=$(awk -v w="$NE_FIRST_MS" 'BEGIN { k = int(500 / (w + 0.001)) + 1; if (k > 100) k = 100; print k }')
    else
      # shellcheck disable=SC2046
      K[$t]=$(calibrate $(cmd_of "$t"))
    fi
  done
  for r in $(seq 1 "$REPS"); do
    for t in "${TOOLS[@]}"; do
      if [ "$t" = ne ]; then
        args=()
        for i in $(seq 1 "${K[ne]}"); do args+=(-o /dev/null "$NE_URL"); done
        c0=$(proc_cpu_ticks "$NE_PID")
        curl -s --max-time 300 -w '%{time_total}\n' "${args[@]}" >"$SD/ne-round-$r.times"
        c1=$(proc_cpu_ticks "$NE_PID")
        w=$(awk '{print $1 * 1000}' "$SD/ne-round-$r.times" | median)
        c=$(awk -v a="$c0" -v b="$c1" -v k="${K[ne]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) * 1000 / hz / k }')
        WALL[ne]+="$w "; CPU[ne]+="$c "
      else
        # shellcheck disable=SC2046
        read -r w c rc < <(timeout 600 "$TMP/measure.sh" "${K[$t]}" $(cmd_of "$t") || echo "nan nan 124")
        WALL[$t]+="$w "; CPU[$t]+="$c "; RC[$t]=${rc:-1}
      fi
    done
  done
  for t in "${TOOLS[@]}"; do echo "$t k=${K[$t]} wall_ms=${WALL[$t]} cpu_ms=${CPU[$t]}" >>"$SD/rounds.txt"; done
  NE_HWM_KB=""; NE_RSS_KB=""
  if [ -n "$NE_PID" ]; then
    NE_HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$NE_PID/status")
    NE_RSS_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$NE_PID/status")
    stop_group "$NE_PID"; forget_group "$NE_PID"
  fi

  # --- the agent ---------------------------------------------------------------------------------
  AGENT_ROWS=""
  if [ -z "$AGENT_NOTE" ] && [ -n "$BASE_AGENT" ]; then
    # This tree and the other build, alternating on the same load (the first of each pair
    # changes every round, so neither always runs right after SocketLoad's quiet moments).
    "$BASE_AGENT" sample --help >/dev/null 2>&1
    timeout 1800 "$AGENT" sample --help >/dev/null 2>&1
    for r in $(seq 1 "$CMP_ROUNDS"); do
      order=(this base); [ $((r % 2)) -eq 0 ] && order=(base this)
      for which in "${order[@]}"; do
        bin=$AGENT; [ "$which" = base ] && bin=$BASE_AGENT
        log "scale $S: compare round $r: $which (${PINCMD[*]:-unpinned})"
        timeout --kill-after=10 300 "${PINCMD[@]}" "$bin" sample --json --compact --count "$AGENT_COUNT" \
          --interval "$AGENT_INTERVAL" >"$SD/cmp-$which-$r.jsonl" 2>"$SD/cmp-$which-$r.err" {SL_IN}>&-
        # wall cpu tcp_wall tcp_cpu, samples 2..N of the run
        jq -r '[ (.health.wallMicros // 0 | tonumber), (.health.cpuMicros // 0 | tonumber),
                 ((.health.sources // []) | map(select(.source == "tcp")) | .[0] // {} |
                   (.wallMicros // 0 | tonumber), (.cpuMicros // 0 | tonumber)) ] | @tsv' \
          "$SD/cmp-$which-$r.jsonl" 2>/dev/null | awk 'NR >= 2' >>"$SD/cmp-$which.tsv"
      done
    done
  elif [ -z "$AGENT_NOTE" ]; then
    for mode in tcp-only full; do
      extra=(); [ "$mode" = tcp-only ] && extra=(--tcp-only)
      # bin/handlewatch-agent rebuilds when sources are newer than its jar: let that happen here,
      # not inside the measured run (a run that built anyway is flagged in the table).
      timeout 1800 "$AGENT" sample --help >/dev/null 2>&1
      log "scale $S: agent sample --count $AGENT_COUNT --interval $AGENT_INTERVAL ${extra[*]}"
      timeout --kill-after=10 300 /usr/bin/time -f '%e %U %S %M' -o "$SD/agent-$mode.time" \
        "$AGENT" sample --json --compact --count "$AGENT_COUNT" --interval "$AGENT_INTERVAL" "${extra[@]}" \
        >"$SD/agent-$mode.jsonl" 2>"$SD/agent-$mode.err" {SL_IN}>&-
      echo "$?" >"$SD/agent-$mode.rc"
      # One TSV line per sample: wall cpu rss tcp_wall tcp_cpu reader established close_wait time_wait tcp_status
      jq -r '[ (.health.wallMicros // 0 | tonumber), (.health.cpuMicros // 0 | tonumber),
               (.health.rssBytes // 0 | tonumber),
               ((.health.sources // []) | map(select(.source == "tcp")) | .[0] // {} |
                 (.wallMicros // 0 | tonumber), (.cpuMicros // 0 | tonumber)),
               (.tcp.reader // "-"), (.tcp.total.established // 0 | tonumber),
               (.tcp.total.closeWait // 0 | tonumber), (.tcp.total.timeWait // 0 | tonumber),
               ((.health.sources // []) | map(select(.source == "tcp")) | .[0].status // "-") ] | @tsv' \
        "$SD/agent-$mode.jsonl" >"$SD/agent-$mode.tsv" 2>"$SD/agent-$mode.jq.err" || true
    done
    # The same full sampling with the text report instead of JSON: protobuf's JSON printer costs
    # memory (about 6 MiB) that the agent's sampling itself does not need.
    log "scale $S: agent sample --count $AGENT_COUNT --interval $AGENT_INTERVAL (text)"
    timeout --kill-after=10 300 /usr/bin/time -f '%e %U %S %M' -o "$SD/agent-text.time" \
      "$AGENT" sample --count "$AGENT_COUNT" --interval "$AGENT_INTERVAL" \
      >"$SD/agent-text.out" 2>"$SD/agent-text.err" {SL_IN}>&-
    echo "$?" >"$SD/agent-text.rc"
  fi

  STATES_AFTER=$(states_line); SOCKSTAT_AFTER=$(sockstat_line)
  stop_group "$SL_PID"; forget_group "$SL_PID"
  grep -m1 '^STOPPED' "$SD/socketload.out" >/dev/null || log "scale $S: SocketLoad did not say STOPPED (killed?)"

  # --- the table ---------------------------------------------------------------------------------
  row() { # label key note
    local t=$2 w c
    if [ -z "${WALL[$t]:-}" ]; then return; fi
    w=$(echo "${WALL[$t]}" | tr ' ' '\n' | grep . | median)
    c=$(echo "${CPU[$t]}" | tr ' ' '\n' | grep . | median)
    printf '| %s | %s | %s | %s | %s×%s | %s |\n' "$1" "$(fmt_ms "$w")" \
      "$(echo "${WALL[$t]}" | tr ' ' '\n' | grep . | minmax)" "$(fmt_ms "$c")" "$REPS" "${K[$t]}" "$3"
  }
  {
    EST_B=$(state_count "$STATES_BEFORE" ESTAB); CW_B=$(state_count "$STATES_BEFORE" CLOSE-WAIT)
    TW_B=$(state_count "$STATES_BEFORE" TIME-WAIT); TW_A=$(state_count "$STATES_AFTER" TIME-WAIT)
    TOTAL_B=$(echo "$STATES_BEFORE" | tr ' ' '\n' | awk -F= '{n += $2} END {print n}')
    echo "## scale $(fmt_int "$S"): $(fmt_int "$TOTAL_B") TCP sockets in place"
    echo
    echo "- asked: $(fmt_int $((2 * PAIRS))) ESTABLISHED ($(fmt_int "$PAIRS") pairs), $(fmt_int "$CW") CLOSE_WAIT, $(fmt_int "$TW") TIME_WAIT; SocketLoad: \`${READY#READY }\`"
    echo "- in place (\`ss -tan\`, whole host) before the measurements: $STATES_BEFORE; after: $STATES_AFTER"
    echo "- /proc/net/sockstat TCP before: $SOCKSTAT_BEFORE; after: $SOCKSTAT_AFTER"
    echo "- setup: $WORKERS worker JVM(s), READY after $SETUP_S s; host CPU busy before measuring (3 s, all cores): $BASELINE_BUSY %; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| what | wall ms (median) | wall ms (min–max) | CPU ms (median) | rounds×runs | notes |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    row '`ss -tan > /dev/null`' ss ""
    row '`ss -tanp > /dev/null`' ssp "walks every process's fds"
    row '`cat /proc/net/tcp /proc/net/tcp6 > /dev/null`' cat ""
    if [ "$AGENT_ONLY" -eq 1 ]; then
      :
    elif [ "$HAVE_NETSTAT" -eq 1 ]; then row '`netstat -tan > /dev/null`' netstat ""; else echo "| \`netstat -tan\` | – | – | – | – | net-tools not installable |"; fi
    if [ "$AGENT_ONLY" -eq 1 ]; then
      :
    elif [ -n "$NE_PID" ]; then
      NE_STATES=$(awk '{ match($0, /state="[^"]*"/); s = substr($0, RSTART + 7, RLENGTH - 8); printf "%s=%s ", s, $2 }' "$SD/node_exporter.states")
      row "node_exporter tcpstat scrape (curl, keep-alive)" ne "first scrape $(fmt_ms "$NE_FIRST_MS") ms; peak RSS (VmHWM) $(awk -v k="$NE_HWM_KB" 'BEGIN {printf "%.1f", k / 1024}') MiB; it saw: $NE_STATES"
    else
      echo "| node_exporter tcpstat scrape | – | – | – | – | no free port in 19100–19199 |"
    fi
    if [ -n "$AGENT_NOTE" ]; then
      echo "| handlewatch agent | – | – | – | – | $AGENT_NOTE |"
    elif [ -n "$BASE_AGENT" ]; then
      col() { awk -F'\t' -v c="$2" '{ printf "%.3f\n", $c / 1000 }' "$1"; }
      for which in this base; do
        f="$SD/cmp-$which.tsv"
        if [ ! -s "$f" ]; then echo "| agent ($which) | – | – | – | – | failed: $(tail -1 "$SD/cmp-$which-1.err" | cut -c1-150 | tr '|' '/') |"; continue; fi
        label="this tree ($GIT_REV)"; [ "$which" = base ] && label="\`$BASE_AGENT\`"
        echo "| agent: later full samples, $label | $(fmt_ms "$(col "$f" 1 | median)") | $(col "$f" 1 | minmax) | $(fmt_ms "$(col "$f" 2 | median)") | ${CMP_ROUNDS}×$(( $(wc -l <"$f") / CMP_ROUNDS )) | \`tcp\` source $(fmt_ms "$(col "$f" 3 | median)") ms wall, $(fmt_ms "$(col "$f" 4 | median)") ms CPU; ${PINCMD[*]:-unpinned} |"
      done
      if [ -s "$SD/cmp-this.tsv" ] && [ -s "$SD/cmp-base.tsv" ]; then
        rw=$(awk -v a="$(col "$SD/cmp-this.tsv" 1 | median)" -v b="$(col "$SD/cmp-base.tsv" 1 | median)" 'BEGIN { printf "%.2f", a / b }')
        rc=$(awk -v a="$(col "$SD/cmp-this.tsv" 2 | median)" -v b="$(col "$SD/cmp-base.tsv" 2 | median)" 'BEGIN { printf "%.2f", a / b }')
        echo "| ratio this / base (medians) | ${rw}× | – | ${rc}× | – | |"
      fi
    else
      for mode in tcp-only full; do
        if [ ! -s "$SD/agent-$mode.tsv" ]; then
          echo "| agent \`sample$([ "$mode" = tcp-only ] && echo " --tcp-only")\` | – | – | – | – | failed (exit $(cat "$SD/agent-$mode.rc")): $(tail -1 "$SD/agent-$mode.err" | cut -c1-150 | tr '|' '/') |"
        fi
      done
      TO="$SD/agent-tcp-only.tsv"; FU="$SD/agent-full.tsv"
      us_ms() { awk '{ printf "%.3f\n", $1 / 1000 }'; }
      later() { awk -F'\t' -v c="$2" 'NR >= 2 { print $c }' "$1" | us_ms | median; }
      range_later() { awk -F'\t' -v c="$2" 'NR >= 2 { print $c }' "$1" | us_ms | minmax; }
      first() { awk -F'\t' -v c="$2" 'NR == 1 { print $c }' "$1" | us_ms; }
      nlater() { awk 'NR >= 2' "$1" | wc -l; }
      agent_time() { # file -> "wall_s user_s sys_s maxrss_kb"
        [ -s "$1" ] && tail -1 "$1" || echo "nan nan nan nan"
      }
      if [ -s "$TO" ]; then
        RD=$(awk -F'\t' 'NR == 1 {print $6}' "$TO")
        SEEN=$(awk -F'\t' 'END { printf "ESTAB=%s CLOSE-WAIT=%s TIME-WAIT=%s", $7, $8, $9 }' "$TO")
        echo "| agent: TCP counts only (\`tcp\` source, --tcp-only, samples 2–$(( $(nlater "$TO") + 1 ))) | $(fmt_ms "$(later "$TO" 4)") | $(range_later "$TO" 4) | $(fmt_ms "$(later "$TO" 5)") | 1×$(nlater "$TO") | reader $RD; saw $SEEN |"
        echo "| agent: whole --tcp-only sample (samples 2–$(( $(nlater "$TO") + 1 ))) | $(fmt_ms "$(later "$TO" 1)") | $(range_later "$TO" 1) | $(fmt_ms "$(later "$TO" 2)") | 1×$(nlater "$TO") | first sample: $(fmt_ms "$(first "$TO" 1)") ms wall, $(fmt_ms "$(first "$TO" 2)") ms CPU |"
      fi
      if [ -s "$FU" ]; then
        echo "| agent: first full sample (sample 1) | $(fmt_ms "$(first "$FU" 1)") | – | $(fmt_ms "$(first "$FU" 2)") | 1×1 | includes the first walk of every process's fds |"
        echo "| agent: later full samples (2–$(( $(nlater "$FU") + 1 ))) | $(fmt_ms "$(later "$FU" 1)") | $(range_later "$FU" 1) | $(fmt_ms "$(later "$FU" 2)") | 1×$(nlater "$FU") | |"
        echo "| agent: \`tcp\` source within full samples (2–$(( $(nlater "$FU") + 1 ))) | $(fmt_ms "$(later "$FU" 4)") | $(range_later "$FU" 4) | $(fmt_ms "$(later "$FU" 5)") | 1×$(nlater "$FU") | |"
      fi
      for mode in tcp-only full; do
        f="$SD/agent-$mode.tsv"; [ -s "$f" ] || continue
        read -r ew eu es em <<<"$(agent_time "$SD/agent-$mode.time")"
        RSS_MAX=$(awk -F'\t' '$3 > m {m = $3} END {printf "%.1f", m / 1048576}' "$f")
        BUILT=""
        grep -qi 'building' "$SD/agent-$mode.err" && BUILT="; **this run rebuilt the project first (sources changed), so its wall/CPU/peak RSS include Maven**"
        echo "| agent process, \`sample --count $AGENT_COUNT --interval $AGENT_INTERVAL$([ "$mode" = tcp-only ] && echo " --tcp-only")\` (JVM start to exit) | $(awk -v x="$ew" 'BEGIN {printf "%.0f", x * 1000}') | – | $(awk -v u="$eu" -v s="$es" 'BEGIN {printf "%.0f", (u + s) * 1000}') | 1×1 | max health.rssBytes $RSS_MAX MiB; peak RSS (VmHWM, /usr/bin/time %M) $(awk -v k="$em" 'BEGIN {printf "%.1f", k / 1024}') MiB$BUILT |"
      done
      if [ "$(cat "$SD/agent-text.rc" 2>/dev/null)" = 0 ]; then
        read -r ew eu es em <<<"$(agent_time "$SD/agent-text.time")"
        RSS_MAX=$(grep -o 'agent RSS [0-9.]* MiB' "$SD/agent-text.out" | awk '$3 > m {m = $3} END {printf "%.1f", m}')
        echo "| agent process, \`sample --count $AGENT_COUNT --interval $AGENT_INTERVAL\` with the text report (JVM start to exit) | $(awk -v x="$ew" 'BEGIN {printf "%.0f", x * 1000}') | – | $(awk -v u="$eu" -v s="$es" 'BEGIN {printf "%.0f", (u + s) * 1000}') | 1×1 | max reported RSS $RSS_MAX MiB; peak RSS (VmHWM, /usr/bin/time %M) $(awk -v k="$em" 'BEGIN {printf "%.1f", k / 1024}') MiB |"
      fi
    fi
    for t in "${TOOLS[@]}"; do
      [ "${RC[$t]:-0}" = 0 ] || echo "- note: \`$(cmd_of "$t")\` exited with ${RC[$t]}"
    done
    echo
  } >"$MD"
  cat "$MD" >&2
  unset K WALL CPU RC
done

{
  cat "$TMP/head.md"
  [ ${#SYSCTL_NOTES[@]} -gt 0 ] && printf -- '- changed for the run and restored: %s\n\n' "${SYSCTL_NOTES[*]}"
  for S in "${SCALE_LIST[@]}"; do [ -f "$TMP/scale-$S.md" ] && cat "$TMP/scale-$S.md"; done
  echo "Raw data: \`$RAW\`."
} | tee "$REPORT"
log "report: $REPORT"
