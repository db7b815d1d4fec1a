# Sourced by bench/tcp-sample-bench.sh --netns: the cost of counting every network namespace.
#
# Loads (bench/NetnsLoad.py, the issue's socket mix on each namespace's loopback, one `sleep` per
# namespace as the member the /proc fallback reads through):
#   wide   100 namespaces x 1,800 sockets = 180,000
#   one    1 namespace x 180,000 sockets (the same sockets, one dump)
#   dense  250 namespaces x 40 sockets, like a dense Kubernetes node
# On each, the agent takes `sample --json --compact --count 5 --interval 2s` (full samples) as root
# (setns + netlink), without CAP_SYS_ADMIN (setpriv: the /proc/PID/net/tcp fallback), and on
# `dense` also with --namespaces own (the agent's namespace only: the baseline for the cost per
# namespace). Figures are medians of samples 2-5 from the agent's own health, plus its peak RSS.
# TIME_WAIT sockets live 60 s and are made once, so the earliest namespaces' have expired by the
# time big loads are measured: the socket count each run saw is in its row.
#
# With --compare-agent PATH, the netlink and own runs alternate this tree and PATH for
# --compare-rounds rounds on the same load, each pinned with --pin CPUS when given, and the rows
# say before (PATH) and after (this tree), with the load average around each run. Each load also
# gets bench/NetnsParts.py: the parts of one namespace's count (setns, netlink open, dump, close,
# /proc reads) timed apart outside the agent.

NS_PREFIX="${HW_NETNS_PREFIX:-hwb}-$$"
NS_NAMES=()

netns_cleanup() {
  local n
  for n in "${NS_NAMES[@]}"; do ip netns del "$n" 2>/dev/null; done
  NS_NAMES=()
}

# start_loader DIR N FIRST COUNT PER_NS: one NetnsLoad.py holding its sockets until its stdin, a
# fifo this shell keeps open, ends (at exit) or its process group is stopped.
start_loader() {
  local sd=$1 w=$2 fd
  mkfifo "$sd/in-$w"
  exec {fd}<>"$sd/in-$w"
  setsid python3 "$ROOT/bench/NetnsLoad.py" "$sd/names" "$3" "$4" "$5" \
    <"$sd/in-$w" >"$sd/load-$w.out" 2>"$sd/load-$w.err" &
  PGIDS+=("$!")
  LOAD_PGIDS+=("$!")
}

# make_load NAME COUNT PER_NS: namespaces, members and loaders; sets LOAD_PGIDS and LOAD_SOCKETS.
make_load() {
  local name=$1 count=$2 per=$3 i n workers per_worker first sd=$RAW/netns-$1
  mkdir -p "$sd"
  : >"$sd/names"
  : >"$sd/members"
  for ((i = 0; i < count; i++)); do
    n="$NS_PREFIX-$name-$i"
    ip netns add "$n" || return 1
    NS_NAMES+=("$n")
    ip -n "$n" link set lo up || return 1
    echo "$n" >>"$sd/names"
    start_bg /dev/null /dev/null ip netns exec "$n" sleep 100000
    echo "$STARTED_PID" >>"$sd/members"
  done
  # Each loader holds up to ~17,000 fds (the hard RLIMIT_NOFILE here is 20,000).
  per_worker=$(awk -v p="$per" 'BEGIN { w = int(17000 / (p * 17 / 18 + 8)); print (w < 1 ? 1 : w) }')
  LOAD_PGIDS=()
  workers=0
  for ((first = 0; first < count; first += per_worker)); do
    local c=$((count - first < per_worker ? count - first : per_worker))
    if [ "$per" -gt 17000 ]; then
      # One namespace bigger than one process: split its sockets over several loaders.
      local k parts=$(((per + 16999) / 17000))
      for ((k = 0; k < parts; k++)); do
        start_loader "$sd" "$workers" "$first" "$c" $((per / parts))
        workers=$((workers + 1))
      done
    else
      start_loader "$sd" "$workers" "$first" "$c" "$per"
      workers=$((workers + 1))
    fi
  done
  local w ready
  for ((w = 0; w < workers; w++)); do
    ready=""
    for i in $(seq 1 3000); do # 600 s
      ready=$(grep -m1 '^READY' "$sd/load-$w.out" 2>/dev/null) && break
      [ -s "$sd/load-$w.err" ] && grep -q Error "$sd/load-$w.err" && break
      sleep 0.2
    done
    [ -n "$ready" ] || { log "netns load $name: loader $w not ready: $(tail -2 "$sd/load-$w.err")"; return 1; }
  done
  log "netns load $name: $count namespaces x $per sockets ready ($workers loaders)"
}

stop_load() {
  local g
  for g in "${LOAD_PGIDS[@]}" "${PGIDS[@]}"; do stop_group "$g"; forget_group "$g"; done
  LOAD_PGIDS=()
  netns_cleanup
}

# agent_run LOAD MODE [BIN TAG]: MODE netlink | proc | own; BIN the launcher ($AGENT), TAG the
# file suffix. Writes $RAW/netns-LOAD/agent-MODE[TAG].{jsonl,time,tsv,load}.
agent_run() {
  local load=$1 mode=$2 bin=${3:-$AGENT} tag=${4:-} sd=$RAW/netns-$1 pre=() extra=()
  case "$mode" in
    proc) pre=(setpriv --inh-caps=-sys_admin --ambient-caps=-sys_admin --bounding-set=-sys_admin) ;;
    own) extra=(--namespaces own) ;;
  esac
  log "netns load $load: agent ($mode$tag) ${PINCMD[*]:-unpinned}"
  mode=$mode$tag
  cut -d' ' -f1 /proc/loadavg >"$sd/agent-$mode.load"
  timeout --kill-after=10 600 /usr/bin/time -f '%e %U %S %M' -o "$sd/agent-$mode.time" \
    "${pre[@]}" "${PINCMD[@]}" "$bin" sample --json --compact --count "$AGENT_COUNT" --interval "$AGENT_INTERVAL" "${extra[@]}" \
    >"$sd/agent-$mode.jsonl" 2>"$sd/agent-$mode.err"
  cut -d' ' -f1 /proc/loadavg >>"$sd/agent-$mode.load"
  # per sample: wall cpu netns_wall netns_cpu tcp_wall tcp_cpu rss_mib sockets namespaces fallback failed (ms)
  jq -r '[ (.health.wallMicros|tonumber)/1000, (.health.cpuMicros|tonumber)/1000,
      ([.health.sources[]|select(.source=="netns")|.wallMicros|tonumber][0] // 0)/1000,
      ([.health.sources[]|select(.source=="netns")|.cpuMicros|tonumber][0] // 0)/1000,
      ([.health.sources[]|select(.source=="tcp")|.wallMicros|tonumber][0] // 0)/1000,
      ([.health.sources[]|select(.source=="tcp")|.cpuMicros|tonumber][0] // 0)/1000,
      (.health.rssBytes|tonumber)/1048576,
      ([.tcp.total|to_entries[]|.value|tonumber]|add),
      (.tcp.namespaces|length), (.tcp.namespacesProcFallback // "0"|tonumber), (.tcp.namespacesFailed // "0"|tonumber) ] | @tsv' \
    "$sd/agent-$mode.jsonl" >"$sd/agent-$mode.tsv" 2>"$sd/agent-$mode.jq.err"
}

# later FILE COL: median of column COL over samples 2..
later() { tail -n +2 "$1" | cut -f"$2" | median; }

netns_row() { # LOAD MODE LABEL
  local sd=$RAW/netns-$1 f=$RAW/netns-$1/agent-$2.tsv
  if [ ! -s "$f" ]; then
    echo "| $3 | – | – | – | – | – | – | – | failed: $(tail -1 "$sd/agent-$2.err" | cut -c1-120 | tr '|' '/') |"
    return
  fi
  read -r ew eu es em <"$sd/agent-$2.time"
  echo "| $3 | $(paste -sd- "$sd/agent-$2.load" 2>/dev/null) | $(fmt_ms "$(later "$f" 1)") | $(fmt_ms "$(later "$f" 2)") | $(fmt_ms "$(later "$f" 3)") / $(fmt_ms "$(later "$f" 4)") | $(fmt_ms "$(later "$f" 5)") / $(fmt_ms "$(later "$f" 6)") | $(awk -v m="$(later "$f" 7)" 'BEGIN {printf "%.1f", m}') / $(awk -v k="$em" 'BEGIN {printf "%.1f", k / 1024}') | $(fmt_int "$(later "$f" 8)") sockets, $(later "$f" 9) namespaces, $(later "$f" 10) via /proc, $(later "$f" 11) not counted |"
}

run_netns_scenarios() {
  [ -n "$AGENT_NOTE" ] && die "the agent is needed for --netns: $AGENT_NOTE"
  command -v python3 >/dev/null || apt_install python3 || die "python3 is needed for bench/NetnsLoad.py"
  command -v setpriv >/dev/null || die "setpriv (util-linux) is needed for the unprivileged runs"
  trap 'stop_load; cleanup' EXIT
  raise_sysctl net.ipv4.tcp_max_tw_buckets 262144
  [ "$CHILD_EHASH" -gt 0 ] && raise_sysctl net.ipv4.tcp_child_ehash_entries "$CHILD_EHASH"
  raise_sysctl fs.file-max 2000000
  local report="$OUT/tcp-sample-netns-$STAMP$([ "$CHILD_EHASH" -gt 0 ] && echo "-child-ehash-$CHILD_EHASH").md" md="$TMP/netns.md"
  {
    echo "## Every network namespace: cost and RSS"
    echo
    echo "Full samples (\`sample --json --compact --count $AGENT_COUNT --interval $AGENT_INTERVAL\`), medians of samples 2–$AGENT_COUNT from the agent's health; ms."
    echo
    echo "| load, agent | load avg (1 min) before-after | sample wall | sample CPU | \`netns\` wall / CPU | \`tcp\` wall / CPU | RSS health / peak MiB | what it saw |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
  } >"$md"
  local spec name count per modes m
  local specs=("wide 100 1800 netlink,proc" "one 1 180000 netlink,proc" "dense 250 40 own,netlink,proc")
  # HW_NETNS_SPECS="name count per modes;..." replaces them (for a quick check of the script).
  [ -n "${HW_NETNS_SPECS:-}" ] && IFS=";" read -r -a specs <<<"$HW_NETNS_SPECS"
  for spec in "${specs[@]}"; do
    read -r name count per modes <<<"$spec"
    if ! make_load "$name" "$count" "$per"; then
      echo "| $name ($count x $per) | – | – | – | – | – | – | – | load failed |" >>"$md"
      stop_load
      continue
    fi
    IFS=, read -r -a ms <<<"$modes"
    for m in "${ms[@]}"; do
      if [ -n "$BASE_AGENT" ] && [ "$m" != proc ]; then
        local r which order
        for r in $(seq 1 "$CMP_ROUNDS"); do
          order=(base this); [ $((r % 2)) -eq 0 ] && order=(this base)
          for which in "${order[@]}"; do
            if [ "$which" = base ]; then agent_run "$name" "$m" "$BASE_AGENT" "-before-$r"; else agent_run "$name" "$m" "$AGENT" "-after-$r"; fi
          done
        done
        for r in $(seq 1 "$CMP_ROUNDS"); do
          netns_row "$name" "$m-before-$r" "$name: $count namespaces × $(fmt_int "$per"), $m, **before** (round $r)" >>"$md"
          netns_row "$name" "$m-after-$r" "$name: $count namespaces × $(fmt_int "$per"), $m, **after** (round $r)" >>"$md"
        done
      else
        agent_run "$name" "$m"
        netns_row "$name" "$m" "$name: $count namespaces × $(fmt_int "$per"), $m" >>"$md"
      fi
    done
    log "netns load $name: the parts, apart (bench/NetnsParts.py)"
    {
      echo "$name: $(cut -d' ' -f1-3 /proc/loadavg) load average before"
      "${PINCMD[@]}" python3 "$ROOT/bench/NetnsParts.py" "$RAW/netns-$name/names" "$RAW/netns-$name/members" 3
    } >"$RAW/netns-$name/parts.txt" 2>&1
    stop_load
  done
  {
    grep -v -e '^- load:' -e '^- medians of' "$TMP/head.md" | sed '$d'
    echo "- load: bench/NetnsLoad.py in namespaces made with \`ip netns add\` (loopback up), the issue's mix per namespace (8/9 ESTABLISHED in loopback pairs, 1/18 CLOSE_WAIT, 1/18 TIME_WAIT made once), one \`sleep\` per namespace as the member the /proc fallback reads through"
    echo "- agent: \`netlink\` as root (setns into each namespace, one dump each); \`proc\` with CAP_SYS_ADMIN dropped by setpriv (/proc/PID/net/tcp{,6} of one member per namespace); \`own\` with --namespaces own (the agent's namespace only)"
    echo "- net.ipv4.tcp_child_ehash_entries: $(sysctl -n net.ipv4.tcp_child_ehash_entries 2>/dev/null || echo n/a) ($([ "$(sysctl -n net.ipv4.tcp_child_ehash_entries 2>/dev/null || echo 0)" -gt 0 ] && echo "each namespace made in the run has a TCP hash table of its own" || echo "every namespace shares the host's TCP hash table, which every dump walks"))"
    echo "- machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min load average at the end; other engineers build on the same 2 cores)"
    [ -n "$BASE_AGENT" ] && echo "- before: \`$BASE_AGENT\`; after: this tree ($GIT_REV); alternated, ${PINCMD[*]:-unpinned}"
    echo
    cat "$md"
    local pf
    for pf in "$RAW"/netns-*/parts.txt; do
      [ -s "$pf" ] || continue
      echo
      echo "### The parts of one namespace's count, apart: $(head -1 "$pf") (bench/NetnsParts.py, median of 3 passes)"
      echo
      echo "$(sed -n 2p "$pf")"
      echo
      echo "| part | all namespaces, ms | per namespace, ms |"
      echo "| --- | ---: | ---: |"
      tail -n +3 "$pf" | awk -F'\t' 'NF == 3 { printf "| %s | %s | %s |\n", $1, $2, $3 }'
    done
  } >"$report"
  cat "$report"
  log "report: $report (raw: $RAW/netns-*)"
}
