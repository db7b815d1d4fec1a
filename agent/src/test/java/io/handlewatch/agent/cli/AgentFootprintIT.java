package io.handlewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.testing.IngestServer;
import io.handlewatch.agent.testing.IngestServer.Mode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Holds the daemon's footprint: the real launcher ({@code bin/handlewatch-agent run}, with the JVM
 * flags production uses) streams to a real gRPC server on loopback, and once it has sent several
 * reports its thread and loaded-class counts must stay within the budgets below. A new dependency
 * or a new pool shows up here before it shows up on every host of a fleet: each ~1,000 classes cost
 * ~8 MiB of metaspace, symbols and class space (BENCHMARKS.md, "Agent daemon footprint").
 */
class AgentFootprintIT {
  /**
   * Threads of the daemon, counted in /proc/PID/task after five reports: 11 measured on JDK 25.0.3
   * (bench/agent-footprint.sh, December 2026), the floor of any Java program started by the {@code
   * java} launcher with these flags (launcher and main thread, VM thread, reference handler, signal
   * dispatcher, service thread, monitor deflation, one C1 compiler, notification, periodic task,
   * common cleaner). The agent adds none: its main thread is the link, a Netty event loop on which
   * the connection's I/O, gRPC's callbacks and the samples all run.
   */
  static final int THREAD_BUDGET = 11;

  /**
   * Classes loaded (the JVM's java.cls.loadedClasses counter, hidden classes included) after five
   * reports: about 4,560 measured with the same run as above; the budget leaves ~5 % for growth of
   * the agent's own code.
   */
  static final int CLASS_BUDGET = 4_800;

  @TempDir Path dir;

  /** The daemon as the launcher starts it, streaming to {@code collector} every 500 ms. */
  private Process startDaemon(IngestServer collector, Path err) throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder(
            AgentLauncherIT.LAUNCHER.toString(),
            "run",
            "--collector",
            collector.target(),
            "--interval",
            "500ms",
            "--host",
            "footprint-it",
            "--state-dir",
            dir.resolve("state").toString(),
            // Other tests on this machine make network namespaces; entering them adds the
            // netns-dump thread, which is not what this budget holds.
            "--namespaces",
            "own");
    pb.redirectErrorStream(true).redirectOutput(err.toFile());
    return pb.start();
  }

  /** What a test checks of the running daemon, once it has sent its first reports. */
  @FunctionalInterface
  private interface DaemonCheck {
    void check(IngestServer collector, Process agent, Path err) throws Exception;
  }

  /**
   * Runs the daemon as the launcher starts it until it has sent {@code reports} reports, runs
   * {@code check} on it, and then stops it with SIGTERM, which it must survive cleanly (shutdown
   * hooks, with finalization disabled).
   */
  private void withDaemon(int reports, DaemonCheck check) throws Exception {
    try (IngestServer collector = IngestServer.start(Mode.ACK)) {
      Path err = dir.resolve("agent.err");
      Process agent = startDaemon(collector, err);
      try {
        awaitReports(collector, reports, agent, err);
        check.check(collector, agent, err);
        agent.destroy();
        assertThat(agent.waitFor(30, TimeUnit.SECONDS)).as("stopped on SIGTERM").isTrue();
        assertThat(read(err)).contains("stopping: last report seq");
      } finally {
        if (agent.isAlive()) {
          agent.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
      }
    }
  }

  /** Waits (up to two minutes) until the collector holds {@code n} reports. */
  private static void awaitReports(IngestServer collector, int n, Process agent, Path err)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (collector.received().size() < n && System.nanoTime() < deadline) {
      assertThat(agent.isAlive()).as("agent running; its log: " + read(err)).isTrue();
      Thread.onSpinWait();
      TimeUnit.MILLISECONDS.sleep(50); // polling the server's record, bounded by the deadline
    }
    assertThat(collector.received())
        .as(n + " reports; agent log: " + read(err))
        .hasSizeGreaterThanOrEqualTo(n);
  }

  /**
   * The command line is parsed once, at start-up, in a class loader the launcher drops afterwards
   * (io.handlewatch.agent.launch.Main): picocli's classes and the commands' must be unloaded from
   * the running daemon, ~2 MiB of metaspace, class space and symbols on every host, while its
   * reports go on.
   */
  @Test
  void commandLineClassesAreUnloadedOnceTheDaemonRuns() throws Exception {
    withDaemon(
        3,
        (collector, agent, err) -> {
          List<String> classes = loadedClassNames(agent.pid());
          assertThat(classes).as("classes of the daemon").hasSizeGreaterThan(1_000);
          assertThat(classes)
              .as("picocli and the commands, unloaded once the command line is parsed")
              .noneMatch(c -> c.startsWith("picocli."))
              .noneMatch(c -> c.startsWith("io.handlewatch.agent.cli."))
              .contains("io.handlewatch.agent.runtime.AgentRuntime");
          int before = collector.received().size();
          awaitReports(collector, before + 2, agent, err);
        });
  }

  @Test
  void daemonStaysWithinItsThreadAndClassBudgets() throws Exception {
    withDaemon(
        5,
        (collector, agent, err) -> {
          // Threads first: jcmd attaching below starts an Attach Listener thread.
          List<String> threads = threadNames(agent.pid());
          String rss = statusLine(agent.pid(), "VmRSS");
          System.out.println(
              "agent daemon: " + threads.size() + " threads " + threads + ", " + rss);
          assertThat(threads).as("threads of the daemon").hasSizeLessThanOrEqualTo(THREAD_BUDGET);
          assertThat(threads)
              .as(
                  "gRPC's callbacks, the connection's I/O and the samples run on the link thread,"
                      + " not on gRPC's cached pool, gRPC's own event loop or a sampler thread")
              .noneMatch(t -> t.startsWith("grpc-"))
              .noneMatch(t -> t.startsWith("handlewatch-sam"))
              .containsOnlyOnce("handlewatch-lin");

          long classes = loadedClasses(agent.pid());
          System.out.println("agent daemon: " + classes + " classes loaded");
          assertThat(classes)
              .as("classes loaded by the daemon")
              .isBetween(1_000L, (long) CLASS_BUDGET);

          // A full collection compacts the whole old generation (-XX:MarkSweepDeadRatio=0): the
          // serial collector's default leaves up to 5 % of it as dead filler arrays, which stayed
          // committed and resident. The histogram's own full collection is the one checked.
          String histogram = jcmd(agent.pid(), "GC.class_histogram");
          assertThat(histogram.lines())
              .as("dead space left as filler objects after a full collection")
              .noneMatch(l -> l.contains("jdk.internal.vm.FillerElement"));

          // The run-time string table is sized to what the daemon interns (-XX:StringTableSize):
          // the default 65,536 buckets were 512 KiB written at start-up, for ~6,400 strings.
          String strings = jcmd(agent.pid(), "VM.stringtable");
          long buckets =
              strings
                  .lines()
                  .filter(l -> l.startsWith("Number of buckets"))
                  .mapToLong(l -> Long.parseLong(l.replaceAll("^[^:]*:\\s*(\\d+).*$", "$1")))
                  .findFirst()
                  .orElseThrow(() -> new AssertionError("no bucket count in: " + strings));
          assertThat(buckets).as("buckets of the run-time string table").isLessThanOrEqualTo(8_192);
        });
  }

  static List<String> threadNames(long pid) throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path t : tasks.toList()) {
        try {
          names.add(Files.readString(t.resolve("comm")).strip());
        } catch (java.nio.file.NoSuchFileException ended) {
          // a thread that ended between the listing and the read is not counted
        }
      }
    }
    names.sort(null);
    return names;
  }

  static String statusLine(long pid, String key) throws IOException {
    return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
        .filter(l -> l.startsWith(key + ":"))
        .findFirst()
        .orElse(key + ": ?")
        .replaceAll("\\s+", " ");
  }

  /** java.cls.loadedClasses of the running JVM, read with jcmd of the JDK running this test. */
  static long loadedClasses(long pid) throws IOException, InterruptedException {
    String out = jcmd(pid, "PerfCounter.print");
    return out.lines()
        .filter(l -> l.startsWith("java.cls.loadedClasses="))
        .mapToLong(l -> Long.parseLong(l.substring(l.indexOf('=') + 1).strip()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no java.cls.loadedClasses in: " + out));
  }

  /** The names of the classes loaded in the running JVM (jcmd VM.classes). */
  static List<String> loadedClassNames(long pid) throws IOException, InterruptedException {
    String out = jcmd(pid, "VM.classes");
    // Lines: KlassAddr Size State Flags ClassName (Flags may be empty).
    return out.lines()
        .filter(l -> l.startsWith("0x"))
        .map(l -> l.strip().split("\\s+"))
        .map(f -> f[f.length - 1])
        .toList();
  }

  /** The output of {@code jcmd PID COMMAND}, with the JDK running this test; it must succeed. */
  private static String jcmd(long pid, String command) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p =
        new ProcessBuilder(jcmd.toString(), Long.toString(pid), command)
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("jcmd finished").isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
