# Sourced by the launchers (bin/handlewatch-* in a checkout, bin/* of an installed runtime): the JVM
# flags of the agent and the collector, kept in one place.

# Agent, measured in BENCHMARKS.md (180k sockets: first sample ~1.2 s, later ones ~0.25 s): a
# small young generation and tight free ratios keep the heap near its ~8 MiB live set; the serial
# collector and one C1 compiler thread suit a process that works a fraction of a second per
# interval; no class-data-sharing archive, since mapping the JDK's whole archive costs a resident
# ~3 MiB more than loading the few hundred classes the agent uses; the JVM trims glibc's heap
# (and the launcher keeps glibc to one malloc arena: MALLOC_ARENA_MAX=1).
HW_AGENT_JVM_FLAGS=(-Xms4m -Xmx32m -Xmn3m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20
  -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -Xss256k -Xshare:off
  -XX:+UseCompactObjectHeaders -XX:ReservedCodeCacheSize=16m -XX:TrimNativeHeapInterval=1000
  --enable-native-access=ALL-UNNAMED)

# Collector: G1 keeps pauses short while the memory store holds hundreds of MiB of long-lived
# arrays; the heap size comes from HANDLEWATCH_COLLECTOR_JAVA_OPTS (default -Xmx1g), and a fixed
# heap keeps the memory store's cap (store.maxMemory) honest against -Xmx.
HW_COLLECTOR_JVM_FLAGS=(-XX:+UseG1GC -XX:MaxGCPauseMillis=100 -XX:+UseCompactObjectHeaders
  -XX:+ExitOnOutOfMemoryError --enable-native-access=ALL-UNNAMED)
