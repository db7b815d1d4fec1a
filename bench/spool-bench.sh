#!/usr/bin/env bash
# What each --spool-fsync policy costs an append to the agent's disk spool, on this machine's disk.
#
#   bench/spool-bench.sh [--dir DIR] [--appends 2000] [--report-bytes 3000] [--rounds 3] [--out DIR]
#
# Runs bench/SpoolBench.java against the packaged agent jar (built if missing or stale). The spool
# goes under --dir (default /var/tmp: the root disk, like the agent's /var/lib/handlewatch). Prints
# a markdown table (median, p99 and worst append latency per policy, appends/s) and saves it with
# the machine's load in <out>/spool-fsync-<date>.md.
set -u -o pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$ROOT/bin/lib/java.sh"
OUT="$ROOT/bench/results"
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=${2:?}; shift 2 ;;
    --dir|--appends|--report-bytes|--rounds) ARGS+=("$1" "${2:?}"); shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "spool-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
HW_JAVA_HOME=$(hw_find_java_home) || exit 1
JAR="$ROOT/agent/target/handlewatch-agent.jar"
hw_ensure_built "$JAR" agent || exit 1
mkdir -p "$OUT"
REPORT="$OUT/spool-fsync-$(date -u +%Y-%m-%dT%H%MZ).md"
{
  echo "# Spool append cost per --spool-fsync policy"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$HW_JAVA_HOME/bin/java" -version 2>&1 | head -1)"
  echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$HW_JAVA_HOME/bin/java" -cp "$JAR" "$ROOT/bench/SpoolBench.java" "${ARGS[@]}"
  echo
  echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$REPORT"
echo "saved $REPORT" >&2
