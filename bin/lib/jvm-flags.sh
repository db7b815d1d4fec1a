# Sourced by the launchers (bin/handlewatch-* in a checkout, bin/* of an installed runtime): the JVM
# flags of the agent and the collector, kept in one place.

# Agent, measured in BENCHMARKS.md (180k sockets: first sample ~1.2 s, later ones ~0.25 s): a
# small young generation and tight free ratios keep the heap near its ~8 MiB live set; the serial
# collector and one C1 compiler thread suit a process that works a fraction of a second per
# interval; the launcher keeps glibc to one malloc arena (MALLOC_ARENA_MAX=1) and the agent trims
# glibc's heap after every sample itself, which frees the same memory as
# -XX:TrimNativeHeapInterval without its thread.
# Threads (BENCHMARKS.md, "Agent daemon footprint"): no finalizer thread (nothing the agent loads
# needs finalization), and gRPC's Netty transport on one event loop thread with unpooled buffers
# and no JFR probing: one connection to one collector needs no pooled arenas sized for servers.
# Netty's native epoll transport stays on although NIO would save ~2 MiB: only epoll sets
# TCP_USER_TIMEOUT, which ends a cut connection within the keepalive timeout while reports are
# in flight (NetworkCutIT) instead of at the next keepalive ping, 40 s later.
# Class data: see hw_agent_class_data below. -Xms8m leaves room for the AOT cache's objects.
# C1 compiles a method after four times its usual count of calls and loops
# (CompileThresholdScaling=4): the code cache holds ~1 MiB less of code run only at start-up,
# while the per-socket loops still compile within the first sample, even at 1k sockets.
# A 2 MiB young generation (was 3): ~1 MiB less resident for a young collection of well under a
# millisecond more often. Reflection through JNI (useNativeAccessorOnly) instead of method handles
# spun per method: protobuf's JSON printer and picocli reflect over a few thousand methods, and
# each handle's hidden classes stayed resident (BENCHMARKS.md, issue 12's RSS: both ~0.5-1 MiB).
# The agent's sources (io.handlewatch.agent.source.*) compile at a quarter of the usual count
# (CompileCommand CompileThresholdScaling 0.25; "quiet" keeps the JVM from echoing the command on
# stdout, where `sample --json` writes): code run once per network namespace reached the
# global x4 count only several samples in, and C1 compiling the FFM-heavy netlink dump there
# took 2-4 MiB of compiler arenas each (-XX:CompileCommand=MemStat), which HotSpot hands back to
# glibc only every 5 s: with 250 namespaces the samples that compiled it stood 3 MiB higher
# (66-67 MiB). Now they compile in the first sample. -XX:-ShrinkHeapInSteps: the full
# collection the agent makes after a sample that grew the heap by 1 MiB (JavaHeap) gives the
# excess back at once instead of over four collections. Both: BENCHMARKS.md, "RSS (target: ...)".
# MaxHeapFreeRatio=10 (was 20): that collection, and the one after the first sample, then leave
# the old generation a ninth over its live set rather than a quarter; the first sample's growth at
# 180k sockets had stayed committed, and resident, within the quarter (0.5-1 MiB; BENCHMARKS.md,
# "The heap at 180,000 sockets").
# MarkSweepDeadRatio=0: every full collection compacts the whole old generation. By default the
# serial collector leaves up to 5 % of it as dead filler objects (it compacts fully only every
# fourth time), 0.3-0.35 MB of a 6-7 MiB old generation that stayed committed and resident;
# compacting those few MiB costs the agent's rare full collections next to nothing.
# StringTableSize=4096 (default 65,536): the table of strings interned at run time is an array of
# that many buckets, written at start-up and so all resident (512 KiB). The daemon interns about
# 6,400 strings beyond those of its AOT cache (jcmd VM.stringtable); 4,096 buckets hold them in
# chains of 1.6 on average, and the JVM doubles the table by itself past 2 a bucket.
# Tried beside these flags at 180k sockets and not kept (BENCHMARKS.md, "Agent daemon footprint",
# "The daemon against sample"): -Xmn1m (RSS 75.7 against 75.0 MiB, CPU 332 against 277 ms per
# 10 s), -XX:SurvivorRatio=4 (75.5 MiB, 302 ms), -XX:ArchiveRelocationMode=0 (75.5 MiB: the AOT
# cache's pages stay clean file pages instead of relocated private copies, 12 MiB less private
# memory but the same RSS, for metadata mapped at a fixed address, without ASLR).
HW_AGENT_JVM_FLAGS=(-Xms8m -Xmx32m -Xmn2m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=10
  -XX:MarkSweepDeadRatio=0 -XX:StringTableSize=4096
  -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:CompileThresholdScaling=4 -Xss256k
  -XX:+UseCompactObjectHeaders -XX:ReservedCodeCacheSize=16m --finalization=disabled
  -Djdk.reflect.useNativeAccessorOnly=true -XX:-ShrinkHeapInSteps -XX:CompileCommand=quiet
  -XX:CompileCommand=CompileThresholdScaling,io.handlewatch.agent.source.*::*,0.25
  -Dio.grpc.netty.shaded.io.netty.eventLoopThreads=1
  -Dio.grpc.netty.shaded.io.netty.allocator.type=unpooled
  -Dio.grpc.netty.shaded.io.netty.jfr.enabled=false
  --enable-native-access=ALL-UNNAMED)

# hw_agent_class_data AOT_CACHE [COMMAND]: sets HW_AGENT_CLASS_DATA_FLAGS. With the AOT cache that
# bin/dev/build-dist trains into the runtime (lib/handlewatch-agent.aot), the JVM maps the
# daemon's classes parsed and linked: about half the CPU to the first report, and 6-7 MiB less
# resident than without it (71.8 against 77.9 MiB at 1k sockets; the classes' metadata moves from
# private memory into a file mapping). Only for `run` (or when the launcher names no command): the
# JVM loads every class of the cache at start-up, the ~1,700 that only the daemon needs (gRPC,
# Netty, Guava, Failsafe) as well, so `sample` with the cache stood 8-9 MiB above `sample` without
# it, and above the daemon itself (73.4 against 65.0 MiB at 1k sockets, 76.7 against 67.5 at 180k;
# BENCHMARKS.md, "The daemon against sample"), for ~0.3 s less CPU at start-up (0.67 against
# 0.96 s). Without the cache, no class-data sharing at all: mapping the JDK's whole default archive
# costs ~3 MiB more than loading the few hundred JDK classes the agent uses. A cache that does not
# match the runtime or the jar is skipped with a warning, which goes to stderr like every JVM
# warning here, never into a command's output. The cache holds no method profiles (build-dist trains
# it with -XX:-AOTRecordTraining) and none are replayed: replaying takes a thread of its own for the
# life of the process, and C1 alone needs no profiles.
hw_agent_class_data() {
  if [ -f "$1" ] && { [ $# -lt 2 ] || [ "$2" = run ]; }; then
    HW_AGENT_CLASS_DATA_FLAGS=("-XX:AOTCache=$1" -XX:+UnlockDiagnosticVMOptions -XX:-AOTReplayTraining
      -Xlog:disable -Xlog:all=warning:stderr)
  else
    HW_AGENT_CLASS_DATA_FLAGS=(-Xshare:off)
  fi
}

# Collector: G1 keeps pauses short while the memory store holds hundreds of MiB of long-lived
# arrays; the heap size comes from HANDLEWATCH_COLLECTOR_JAVA_OPTS (default -Xmx1g), and a fixed
# heap keeps the memory store's cap (store.maxMemory) honest against -Xmx. A pause goal of 20 ms,
# not 100: with 100, G1 grew the young generation until it met the store's old data in a 1 GiB heap
# and, at 1,000 reports/s on one core, ran out of room (evacuation failure, then full GCs of
# 0.6-1.7 s) in every run; with 20, none, and no pause over 130 ms (BENCHMARKS.md, "The collector
# alone at 1,000 reports/s"). Every report that arrives during a pause waits for it.
HW_COLLECTOR_JVM_FLAGS=(-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+UseCompactObjectHeaders
  -XX:+ExitOnOutOfMemoryError --enable-native-access=ALL-UNNAMED)
