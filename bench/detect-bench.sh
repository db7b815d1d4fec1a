#!/usr/bin/env bash
# What detection costs: CPU per report and heap per host, for a simulated fleet evaluated by the
# collector's DetectionEngine in one thread (the detector thread's job), after a 30-minute warm-up
# that fills every window.
#
#   bench/detect-bench.sh [HOSTS (2000)] [MEASURED_MINUTES (10)]
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
exec "$JAVA_HOME/bin/java" -Xmx2g -XX:+UseG1GC -cp "$CP" \
  io.handlewatch.collector.detect.evaluation.DetectionBench "$@"
