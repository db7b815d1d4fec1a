package io.handlewatch.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.testing.IngestServer;
import io.handlewatch.agent.testing.IngestServer.Mode;
import io.handlewatch.agent.testing.IngestServer.Received;
import io.handlewatch.agent.testing.Tmpfs;
import io.handlewatch.proto.v1.HostReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent jar as a process, streaming over real gRPC on loopback to a minimal Ingest server that
 * acknowledges or holds its acks: a kill -9 with reports unacknowledged loses none of them, and a
 * spool on a full tmpfs drops the oldest, counts them exactly and says so in its reports, while the
 * agent keeps running.
 */
class AgentSpoolIT {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final Path AGENT_JAR = Path.of("target/handlewatch-agent.jar");

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();
  private IngestServer server;

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    if (server != null) server.close();
  }

  private Process agent(String... extra) throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                JAVA,
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx32m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-jar",
                AGENT_JAR.toString(),
                "run",
                "--collector",
                server.target(),
                "--host",
                "spool-host",
                "--tcp-only",
                "--state-dir",
                dir.resolve("state").toString()));
    cmd.addAll(List.of(extra));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile()))
            .start();
    started.add(p);
    return p;
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("agent.log"));
    } catch (IOException e) {
      return "";
    }
  }

  private void await(String what, int seconds, BooleanSupplier ok) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!ok.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what + "; agent log:\n" + log());
      }
      Thread.sleep(50); // polling a condition with a deadline
    }
  }

  private static TreeSet<Long> seqs(List<Received> rs) {
    TreeSet<Long> s = new TreeSet<>();
    for (Received r : rs) s.add(r.report().getSeq());
    return s;
  }

  private static int count(String text, String needle) {
    return text.split(java.util.regex.Pattern.quote(needle), -1).length - 1;
  }

  @Test
  void anAgentKilledWithReportsUnacknowledgedDeliversEveryOneAfterARestart() throws Exception {
    assertThat(AGENT_JAR).exists();
    server = IngestServer.start(Mode.HOLD); // reads every report, acknowledges none
    Process first = agent("--interval", "150ms");
    await("15 reports read and held", 60, () -> server.received().size() >= 15);
    first.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
    assertThat(first.waitFor(10, TimeUnit.SECONDS)).isTrue();
    TreeSet<Long> beforeKill = seqs(server.received());
    long lastBeforeKill = beforeKill.last();
    assertThat(beforeKill).as("one run numbers from 1 without gaps").hasSize((int) lastBeforeKill);

    int mark = server.received().size();
    server.mode(Mode.ACK);
    Process second = agent("--interval", "150ms");
    await(
        "the first run's reports replayed, and the second run's flowing",
        60,
        () -> {
          TreeSet<Long> got = seqs(server.received().subList(mark, server.received().size()));
          return got.containsAll(beforeKill) && got.last() > lastBeforeKill + 10;
        });
    second.destroy();
    assertThat(second.waitFor(20, TimeUnit.SECONDS)).isTrue();

    List<Received> after = server.received().subList(mark, server.received().size());
    List<Long> arrival = after.stream().map(r -> r.report().getSeq()).toList();
    assertThat(arrival.getFirst()).as("replay starts at the oldest").isEqualTo(1);
    assertThat(arrival)
        .as("in seq order on one stream")
        .isSortedAccordingTo(Comparator.naturalOrder());
    assertThat(after.stream().map(Received::stream).distinct()).hasSize(1);

    List<Long> distinct = new ArrayList<>(new TreeSet<>(arrival));
    int k = 0;
    while (k < distinct.size() && distinct.get(k) == k + 1) k++;
    assertThat((long) k)
        .as("the first run's seqs 1..k, k at least the last one read before the kill")
        .isGreaterThanOrEqualTo(lastBeforeKill);
    List<Long> secondRun = distinct.subList(k, distinct.size());
    assertThat(secondRun.getFirst()).as("numbering goes on above the spool").isGreaterThan(k);
    assertThat(secondRun)
        .as("the second run, no gap")
        .hasSize((int) (secondRun.getLast() - secondRun.getFirst() + 1));
    assertThat(log()).contains("reports to replay from seq 1");
    for (Received r : after) {
      assertThat(r.report().getSample().getHealth().getDroppedReports()).isZero();
    }
  }

  @Test
  void aSpoolOnAFullDiskDropsTheOldestCountsThemExactlyAndTheAgentKeepsRunning() throws Exception {
    assertThat(AGENT_JAR).exists();
    try (Tmpfs tmpfs = Tmpfs.mount(dir.resolve("spool"), "16k")) {
      server = IngestServer.start(Mode.HOLD);
      // The spool's own bound is far above the disk: ENOSPC is what stops it.
      Process agent =
          agent(
              "--interval",
              "100ms",
              "--spool-dir",
              tmpfs.dir().toString(),
              "--spool-max-bytes",
              "256KiB");
      await("the disk filled twice", 90, () -> count(log(), "disk full") >= 2);
      TreeSet<Long> held = seqs(server.received());

      // Room on the disk again, so that no drop races the replay; then the collector goes away
      // and comes back acknowledging: the agent replays its spool.
      tmpfs.resize("128k");
      int mark = server.received().size();
      server.mode(Mode.ACK);
      server.endStreams();
      await(
          "the spool replayed and new reports flowing",
          60,
          () -> {
            List<Received> rs = server.received();
            TreeSet<Long> got = seqs(rs.subList(mark, rs.size()));
            return !got.isEmpty() && got.last() > held.last() + 10;
          });
      assertThat(agent.isAlive()).as("the agent keeps running").isTrue();
      agent.destroy();
      assertThat(agent.waitFor(20, TimeUnit.SECONDS)).isTrue();

      List<Received> all = server.received();
      List<Received> replayed = all.subList(mark, all.size());
      TreeSet<Long> afterReconnect = seqs(replayed);
      long oldestKept = afterReconnect.first();
      long last = afterReconnect.last();
      assertThat(oldestKept).as("the oldest were dropped").isGreaterThan(1);
      assertThat(afterReconnect)
          .as("everything from the oldest kept on, no gap")
          .hasSize((int) (last - oldestKept + 1));
      TreeSet<Long> everything = seqs(all);
      assertThat(everything).as("all taken were read once at least").hasSize((int) last);

      HostReport newest =
          replayed.stream()
              .map(Received::report)
              .filter(r -> r.getSeq() == last)
              .findFirst()
              .orElseThrow();
      assertThat(newest.getSample().getHealth().getDroppedReports())
          .as("exactly the reports never replayed: seq 1..%d", oldestKept - 1)
          .isEqualTo(oldestKept - 1);
      long previous = 0;
      for (Received r : all.subList(0, mark)) {
        long d = r.report().getSample().getHealth().getDroppedReports();
        assertThat(d).as("a count only grows").isGreaterThanOrEqualTo(previous);
        assertThat(d).as("drops are of older reports").isLessThan(r.report().getSeq());
        previous = d;
      }
      assertThat(previous).as("the drops travelled in the next reports already").isPositive();
      assertThat(log()).doesNotContain("sample failed");
    }
  }
}
