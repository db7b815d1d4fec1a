# Sourced by the bench scripts.
#
#   hw_bench_free_port               a free TCP port on loopback
#   hw_bench_secs DURATION           seconds in 500ms, 90s, 30m, 2h (or a bare number)
#   hw_bench_build_jars              builds the collector and agent jars when they are stale
#   hw_bench_influxd_start DIR LOG   a private influxd (Debian's `influxdb` package, installed
#                                    when missing) on free loopback ports with its data in DIR,
#                                    logging to LOG; waits for /ping; sets INFLUX_PID, INFLUX_URL
#   hw_bench_influxd_restart         starts it again on the same data (after a kill)
#   hw_bench_cleanup                 for `trap hw_bench_cleanup EXIT INT TERM`: kills and reaps every
#                                    pid in the caller's `pids` array, removes its $WORK
#   hw_bench_await_collector PORT LOG [TRIES]
#                                    waits for the collector's admin /healthcheck on PORT (every
#                                    0.5 s, 120 tries); fails naming LOG and showing its tail
#   HW_INFLUX_DATA_EXTRA             lines added to influxd's [data] section (tuning)
#   HW_INFLUX_PIN                    a command prefix for influxd, e.g. "taskset -c 1"

hw_bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

hw_bench_secs() {
  case "$1" in
    *ms) echo $(( ${1%ms} / 1000 ));;
    *s) echo "${1%s}";;
    *m) echo $(( ${1%m} * 60 ));;
    *h) echo $(( ${1%h} * 3600 ));;
    *) echo "$1";;
  esac
}

hw_bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}

hw_bench_await_collector() {
  local port=$1 log=$2 tries=${3:-120}
  for _ in $(seq 1 "$tries"); do
    curl -fs "http://127.0.0.1:$port/healthcheck" >/dev/null && return 0
    sleep 0.5
  done
  echo "collector did not start; see $log" >&2
  tail "$log" >&2
  return 1
}

hw_bench_build_jars() {
  hw_ensure_built "$ROOT/collector/target/handlewatch-collector.jar" collector || return 1
  hw_ensure_built "$ROOT/agent/target/handlewatch-agent.jar" agent || return 1
}

hw_bench_influxd_start() {
  HW_INFLUX_DIR=$1; HW_INFLUX_LOG=$2
  if ! command -v influxd >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq influxdb >/dev/null || return 1
  fi
  local iport rport
  iport=$(hw_bench_free_port); rport=$(hw_bench_free_port)
  mkdir -p "$HW_INFLUX_DIR"
  cat >"$HW_INFLUX_DIR/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rport"
[meta]
  dir = "$HW_INFLUX_DIR/meta"
[data]
  dir = "$HW_INFLUX_DIR/data"
  wal-dir = "$HW_INFLUX_DIR/wal"
  query-log-enabled = false
${HW_INFLUX_DATA_EXTRA:-}
[http]
  bind-address = "127.0.0.1:$iport"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
  INFLUX_URL="http://127.0.0.1:$iport"
  hw_bench_influxd_restart
}

hw_bench_influxd_restart() {
  ${HW_INFLUX_PIN:-} influxd -config "$HW_INFLUX_DIR/influxdb.conf" >>"$HW_INFLUX_LOG" 2>&1 &
  INFLUX_PID=$!
  for _ in $(seq 1 150); do curl -fs "$INFLUX_URL/ping" >/dev/null && return 0; sleep 0.2; done
  echo "influxd did not answer /ping within 30 s; see $HW_INFLUX_LOG" >&2
  return 1
}
