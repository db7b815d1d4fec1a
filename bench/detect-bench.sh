#!/usr/bin/env bash
# What detection costs: CPU per report and heap per host, for a simulated fleet evaluated by the
# collector's DetectionEngine in one thread (the detector thread's job), after a 30-minute warm-up
# that fills every window.
#
#   bench/detect-bench.sh [HOSTS (2000)] [MEASURED_MINUTES (10)]
#   bench/detect-bench.sh --runner [--cpus LIST] [HOSTS (50000)] [SECONDS (120)] [PREFILL_MINUTES (0)]
#
# --runner: the detection stage at a rate instead, the real DetectionRunner (shards and warm-up as
# configured by default) fed HOSTS/10 reports/s through the memory store in real time, as ingest
# hands reports over, without gRPC or a simulator on the same cores (DetectionRunnerBench): reports
# judged, skipped and coalesced, cost per report, detection lag. --cpus pins the JVM with taskset.
# PREFILL_MINUTES of history per host are stored first, so the warm-up reads rebuild real windows.
#
# The heap figures include the simulated fleet's generators (small) and are taken after System.gc();
# compare runs at two host counts to get the per-host cost.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$ROOT/bin/lib/java.sh"
JAVA_HOME=$(hw_find_java_home)
export JAVA_HOME
cd "$ROOT"
mvn -B -q install -DskipTests -Dfmt.skip=true >&2
mvn -B -q -pl collector test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp >&2
CP="collector/target/test-classes:collector/target/classes:$(cat collector/target/bench.cp)"
MAIN=DetectionBench; HEAP=2g; PIN=()
if [ "${1:-}" = --runner ]; then
  MAIN=DetectionRunnerBench; HEAP=6g; shift
  if [ "${1:-}" = --cpus ]; then PIN=(taskset -c "$2"); shift 2; fi
fi
exec "${PIN[@]}" "$JAVA_HOME/bin/java" -Xmx$HEAP -XX:+UseG1GC -cp "$CP" \
  io.handlewatch.collector.detect.evaluation.$MAIN "$@"
