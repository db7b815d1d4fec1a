package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.testing.CloseWaitLeak;
import io.handlewatch.collector.testing.DebianPackage;
import io.handlewatch.collector.testing.HeadlessChromium;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.collector.testing.RealPrograms;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Hosts whose clocks are wrong, with nothing simulated: real agents run under libfaketime (Debian's
 * faketime), one an hour ahead, one an hour behind, one right until its clock steps back five
 * minutes mid-stream, and one with the machine's own clock, against a real collector on each store
 * (the memory store, and a real influxd) that pages a real Alertmanager. Every report is stored on
 * the collector's timeline in seq order with the agent's own time and the offset beside it, none is
 * refused, the API (and on the memory store the fleet page) shows the offsets and the step, the
 * clock finding pages the three skewed hosts at warning and not the right one, and the step pages
 * nothing else. On the memory store a real CLOSE_WAIT leak, seen by all four, is paged for the two
 * hosts an hour off at the collector's time of the leak (detection does not depend on the store).
 *
 * <p>Bounds are wide where a loaded machine makes them so (2 cores at load 25-36 were seen: agents
 * under libfaketime take 30-40 s to start, the first reports reach the collector's clock stage up
 * to 15 s after they were sent): an offset within a minute of the truth, never an hour or five
 * minutes off; the order and the step's being the only one are exact.
 */
class ClockSkewIT {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long HOUR_MS = 3_600_000;
  private static final long STEP_MS = -300_000;
  private static final List<String> HOSTS =
      List.of("skew-ahead", "skew-behind", "skew-step", "skew-none");
  private static final List<String> SKEWED_AN_HOUR = List.of("skew-ahead", "skew-behind");

  @TempDir Path dir;
  private final List<Process> agents = new ArrayList<>();
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : agents) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  @Test
  void onTheMemoryStore() throws Exception {
    run("{type: memory}", true);
  }

  @Test
  void onInfluxdb() throws Exception {
    InfluxdHarness influxd = InfluxdHarness.start();
    closing.add(influxd);
    run(
        "{type: influxdb, url: '" + influxd.url() + "', database: clock, flushInterval: 20ms}",
        false);
  }

  /** libfaketime's preload library, from Debian's faketime package (bin/test installs it). */
  private static Path libfaketime() throws IOException, InterruptedException {
    DebianPackage.findOrInstall("faketime", "/usr/bin/faketime");
    try (Stream<Path> libs = Files.list(Path.of("/usr/lib"))) {
      return libs.map(d -> d.resolve("faketime/libfaketime.so.1"))
          .filter(Files::exists)
          .findFirst()
          .orElseThrow(() -> new IOException("libfaketime.so.1 not under /usr/lib/*/faketime"));
    }
  }

  /**
   * An agent reporting every 2 s (an agent under libfaketime on a loaded machine skips 1 s ticks);
   * with {@code offsetFile}, under libfaketime with its wall clock off by what the file says
   * ("+1h", "-5m"), reread every second so that writing it steps the clock. CLOCK_MONOTONIC stays
   * real, as NTP leaves it (and a JVM whose monotonic clock is faked does not start).
   */
  private void agent(String host, Path offsetFile, int grpcPort) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(
            JAVA,
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx64m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-jar",
            RealPrograms.AGENT_JAR.toString(),
            "run",
            "--collector",
            "127.0.0.1:" + grpcPort,
            "--interval",
            "2s",
            "--host",
            host,
            // Only its own namespace: other tests on this machine may hold thousands.
            "--namespaces",
            "own",
            "--state-dir",
            dir.resolve(host + "-state").toString());
    if (offsetFile != null) {
      pb.environment().put("LD_PRELOAD", libfaketime().toString());
      pb.environment().put("FAKETIME_TIMESTAMP_FILE", offsetFile.toString());
      pb.environment().put("FAKETIME_CACHE_DURATION", "1");
      pb.environment().put("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    pb.redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(host + ".log").toFile()));
    agents.add(pb.start());
  }

  private String logs() {
    StringBuilder b = new StringBuilder();
    for (String h : HOSTS) {
      try {
        b.append("\n--- ")
            .append(h)
            .append(":\n")
            .append(Files.readString(dir.resolve(h + ".log")));
      } catch (IOException e) {
        b.append("\n--- ").append(h).append(": no log: ").append(e);
      }
    }
    return b.toString();
  }

  /** Alertmanager's firing notifications for {@code host}, one alert each (group_by: ['...']). */
  private static List<JsonNode> firing(PagingStack stack, String host) {
    return stack.notificationsAbout("host", host).stream()
        .filter(n -> n.path("status").asText().equals("firing"))
        .map(n -> n.at("/alerts/0"))
        .toList();
  }

  private static List<JsonNode> firing(PagingStack stack, String alertname, String host) {
    return firing(stack, host).stream()
        .filter(a -> a.at("/labels/alertname").asText().equals(alertname))
        .toList();
  }

  private void run(String store, boolean memory) throws Exception {
    assertThat(RealPrograms.AGENT_JAR).exists();
    Instant started = Instant.now();
    // The agents first: a JVM under libfaketime starts several times slower (every clock call goes
    // through it), so they start while Alertmanager and the collector do, and spool what they
    // sample until the collector is up; those reports are placed by their age.
    int grpc = RealPrograms.freePort();
    Path step = Files.writeString(dir.resolve("step.offset"), "+0\n");
    agent("skew-ahead", Files.writeString(dir.resolve("ahead.offset"), "+1h\n"), grpc);
    agent("skew-behind", Files.writeString(dir.resolve("behind.offset"), "-1h\n"), grpc);
    agent("skew-step", step, grpc);
    agent("skew-none", null, grpc);

    // Detection shortened as in LeakPagingIT. The clock finding's thresholds are raised: critical
    // to 2 h, so that an hour's offset pages at warning; warning to 30 s, because on a loaded test
    // machine (load 30 on 2 cores was seen) reports reach the collector's clock stage seconds after
    // they were sent, and the first ones make a right clock look seconds behind (docs/clock.md,
    // limits).
    PagingStack stack =
        PagingStack.start(
            dir,
            am ->
                """
                ingest: {bindHost: 127.0.0.1, port: %d}
                store: %s
                %s
                  clock: {warning: 30s, critical: 2h}
                notifiers:
                  - type: alertmanager
                    urls: [%s]
                    resendInterval: 2s
                """
                    .formatted(grpc, store, PagingStack.SHORTENED_DETECTION.strip(), am));
    closing.add(stack);
    CollectorApplication collector = stack.collector();
    String api = stack.api() + "/v1/hosts";
    try {
      RealPrograms.await(
          "three reports of each agent",
          Duration.ofSeconds(300),
          () -> {
            JsonNode all = RealPrograms.getJson(api);
            if (all == null || all.path("total").asInt() != HOSTS.size()) return false;
            for (JsonNode h : all.path("hosts")) if (h.path("seq").asLong() < 3) return false;
            return true;
          });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + logs(), e);
    }
    Instant connected = Instant.now();

    // On the memory store, a real CLOSE_WAIT leak on this machine, which all four agents sample:
    // 2 sockets a second; the hosts an hour off must page it at the collector's time. Three
    // seconds on, skew-step's clock steps back five minutes.
    CloseWaitLeak leak = memory ? CloseWaitLeak.start() : null;
    if (leak != null) closing.add(leak);
    Instant leakStart = Instant.now();
    Instant steppedAt = null;
    long seqAtStep = Long.MAX_VALUE;
    boolean done = false;
    for (int i = 0; i < 240 && !done; i++) {
      if (leak != null && i < 160) leak.leak(1);
      if (i == 6) {
        seqAtStep = RealPrograms.getJson(api + "/skew-step").path("seq").asLong();
        Files.writeString(step, "-5m\n");
        steppedAt = Instant.now();
      }
      JsonNode stepView = RealPrograms.getJson(api + "/skew-step");
      boolean afterStep = stepView != null && stepView.path("seq").asLong() >= seqAtStep + 6;
      boolean clockPaged =
          Stream.of("skew-ahead", "skew-behind", "skew-step")
              .allMatch(h -> !firing(stack, "HostClockOffset", h).isEmpty());
      boolean leakPaged =
          leak == null
              || SKEWED_AN_HOUR.stream()
                  .allMatch(h -> !firing(stack, "CloseWaitGrowing", h).isEmpty());
      done = afterStep && clockPaged && leakPaged;
      Thread.sleep(500); // paces the leak at 2 sockets a second
    }
    // A few more reports, so that a page the step might cause has the time to come.
    Thread.sleep(3000);
    Instant finished = Instant.now();
    assertThat(done)
        .as(
            "every skewed host paged for its clock%s; pages: %s%s",
            leak == null ? "" : ", every host for the leak", stack.receiver().requests(), logs())
        .isTrue();

    // 1. Every report on the collector's timeline, in seq order, none refused or lost, the agent's
    // own time kept beside the offset applied.
    SampleStore stored = collector.store();
    Map<String, long[]> expected =
        Map.of(
            "skew-ahead", new long[] {HOUR_MS},
            "skew-behind", new long[] {-HOUR_MS},
            "skew-step", new long[] {0, STEP_MS},
            "skew-none", new long[] {0});
    for (String h : HOSTS) {
      List<StoredPoint> points =
          stored.history(
              h,
              Set.of("clock", "agent"),
              started.minus(Duration.ofDays(1)),
              finished.plus(Duration.ofDays(1)));
      List<StoredPoint> clock =
          points.stream()
              .filter(p -> p.measurement().equals("clock"))
              .sorted(Comparator.comparing(StoredPoint::time))
              .toList();
      List<StoredPoint> agent =
          points.stream()
              .filter(p -> p.measurement().equals("agent"))
              .sorted(Comparator.comparing(StoredPoint::time))
              .toList();
      assertThat(clock).as(h + " clock points").hasSizeGreaterThan(5).hasSameSizeAs(agent);
      List<Long> seqs = agent.stream().map(p -> number(p, "seq")).toList();
      assertThat(seqs).as(h + ": seq in time order").isSorted().doesNotHaveDuplicates();
      assertThat(seqs.getFirst()).as(h + ": from its first report").isEqualTo(1L);
      assertThat(RealPrograms.gaps(seqs, seqs.getLast())).as(h + ": none missing").isEmpty();
      List<Long> agentTimes = new ArrayList<>();
      int steps = 0;
      for (StoredPoint p : clock) {
        long t = p.time().toEpochMilli();
        long offset = number(p, "offset_ms");
        long agentTime = number(p, "agent_time_ms");
        agentTimes.add(agentTime);
        // The agents still report: the latest points are younger than finished.
        assertThat(p.time())
            .as(h + " stored at the collector's time")
            .isBetween(started, Instant.now());
        assertThat(
                Stream.of(expected.get(h))
                    .flatMapToLong(java.util.Arrays::stream)
                    .anyMatch(e -> Math.abs(offset - e) < 60_000))
            .as(h + " offset " + offset)
            .isTrue();
        // The agent's own time beside it: off by the offset applied (none under 1 s), or later
        // by what keeps a host's points in seq order while the estimate settles (the first
        // reports of a loaded machine arrive seconds late and are placed by their own latency).
        // The agent reads its wall clock a moment after the monotonic one the placement uses:
        // under libfaketime on a loaded machine, up to most of a second later.
        // A sample taken before the step and sent after it carries the host's time before the
        // step, and is placed by its age: its own time is off by the offset before the step.
        long moved = Math.abs(offset) < 1000 ? 0 : offset;
        long off = agentTime - t;
        assertThat(
                LongStream.concat(LongStream.of(moved), LongStream.of(expected.get(h)))
                    .anyMatch(e -> off >= e - 60_000 && off <= e + 1_000))
            .as(h + " agent time - stored time " + off + " for " + p)
            .isTrue();
        if (p.fields().containsKey("step_ms")) {
          steps++;
          // The step's size is told by the agent's wall minus monotonic time, read a moment
          // apart: on a loaded machine tens of milliseconds (60 ms seen).
          assertThat(number(p, "step_ms"))
              .as(h + " " + p)
              .isBetween(STEP_MS - 1_000, STEP_MS + 1_000);
          assertThat(p.time()).isAfter(steppedAt.minusSeconds(2));
        }
      }
      // The step host's own times go back five minutes; its stored ones never do.
      if (h.equals("skew-step")) {
        assertThat(agentTimes)
            .as("the agent's own times")
            .isNotEqualTo(agentTimes.stream().sorted().toList());
      }
      // Settled: the latest points exactly where the offset puts them.
      for (StoredPoint p : clock.subList(clock.size() - 3, clock.size())) {
        long offset = number(p, "offset_ms");
        long moved = Math.abs(offset) < 1000 ? 0 : offset;
        assertThat(number(p, "agent_time_ms") - p.time().toEpochMilli())
            .as(h + " settled " + p)
            .isBetween(moved - 1_000, moved + 1_000);
      }
      // Told from the host's monotonic clock: no latency is ever taken for a step.
      assertThat(steps).as(h + ": clock steps").isEqualTo(h.equals("skew-step") ? 1 : 0);
    }

    // 2. The API: every host listed with its offset, none refused or stale, the step in
    // skew-step's view only.
    JsonNode fleet = RealPrograms.getJson(api);
    assertThat(fleet.path("hosts")).hasSize(HOSTS.size());
    for (JsonNode h : fleet.path("hosts")) {
      String name = h.path("host").asText();
      double want =
          switch (name) {
            case "skew-ahead" -> 3600;
            case "skew-behind" -> -3600;
            case "skew-step" -> -300;
            default -> 0;
          };
      assertThat(h.at("/clock/offset_seconds").asDouble())
          .as(h.toString())
          .isBetween(want - 10, want + 10);
      assertThat(h.at("/clock/refused").asLong()).as(h.toString()).isZero();
      assertThat(h.path("status").asText()).as(h.toString()).isNotEqualTo("stale");
      assertThat(h.path("age_seconds").asDouble()).as("not an hour off: " + h).isLessThan(60);
      assertThat(h.at("/clock/last_step_seconds").isMissingNode())
          .as(h.toString())
          .isEqualTo(!name.equals("skew-step"));
    }
    JsonNode stepView = RealPrograms.getJson(api + "/skew-step");
    assertThat(stepView.at("/clock/last_step_seconds").asDouble()).isBetween(-301.0, -299.0);
    assertThat(Instant.parse(stepView.at("/clock/last_step_at").asText()))
        .isBetween(steppedAt, finished);
    assertThat(stepView.at("/sample/clock_offset_ms").asLong()).isBetween(-305_000L, -295_000L);
    assertThat(stepView.at("/sample/agent_time").asText()).isNotEmpty();

    // 3. The clock finding paged the skewed hosts at warning through Alertmanager, naming the
    // offset, skew-step only after its step, and never the host whose clock is right.
    for (String h : List.of("skew-ahead", "skew-behind", "skew-step")) {
      List<JsonNode> clockPages = firing(stack, "HostClockOffset", h);
      for (JsonNode a : clockPages) {
        assertThat(a.at("/labels/severity").asText()).isEqualTo("warning");
        assertThat(a.at("/annotations/runbook_url").asText()).endsWith("#clock_offset");
      }
      assertThat(clockPages.getLast().at("/annotations/summary").asText())
          .as(h)
          .matches(
              h
                  + ": clock "
                  + switch (h) {
                    case "skew-ahead" -> "3,[56]\\d\\d s ahead of";
                    case "skew-behind" -> "3,[56]\\d\\d s behind";
                    default -> "(2\\d\\d|3[0-5]\\d) s behind";
                  }
                  + " the collector");
    }
    assertThat(
            Instant.parse(
                firing(stack, "HostClockOffset", "skew-step").getFirst().path("startsAt").asText()))
        .as("skew-step's clock paged after its step")
        .isAfter(steppedAt.minusSeconds(1));
    assertThat(firing(stack, "HostClockOffset", "skew-none")).as("the right clock").isEmpty();

    // 4. The step pages nothing but the clock finding: skew-step was paged for what skew-none
    // (the same machine, the same sockets) was, and its clock.
    Set<String> stepPaged = new TreeSet<>();
    for (JsonNode a : firing(stack, "skew-step")) stepPaged.add(a.at("/labels/alertname").asText());
    Set<String> nonePaged = new TreeSet<>();
    for (JsonNode a : firing(stack, "skew-none")) nonePaged.add(a.at("/labels/alertname").asText());
    nonePaged.add("HostClockOffset");
    assertThat(stepPaged).as("pages of skew-step").isSubsetOf(nonePaged);

    if (leak != null) {
      // 5. The leak, paged on the hosts an hour off at the collector's time of the leak, not an
      // hour before or after it.
      for (String h : SKEWED_AN_HOUR) {
        List<JsonNode> leakPages = firing(stack, "CloseWaitGrowing", h);
        assertThat(leakPages).as(h + " leak pages").isNotEmpty();
        for (JsonNode a : leakPages) {
          assertThat(a.at("/labels/pid").asText()).isEqualTo(Long.toString(leak.pid()));
          Instant startsAt = Instant.parse(a.path("startsAt").asText());
          assertThat(startsAt).as(h + " startsAt").isBetween(leakStart, finished);
        }
      }

      // 6. The fleet page shows each host's offset.
      try (HeadlessChromium chromium = HeadlessChromium.start()) {
        var d = chromium.driver();
        d.get("http://127.0.0.1:" + stack.httpPort() + "/");
        new WebDriverWait(d, Duration.ofSeconds(30))
            .until(x -> x.findElements(By.cssSelector("tr[data-host] td.clock")).size() == 4);
        assertThat(d.findElement(By.cssSelector("tr[data-host='skew-behind'] td.clock")).getText())
            .startsWith("−3,60");
        assertThat(d.findElement(By.cssSelector("tr[data-host='skew-ahead'] td.clock")).getText())
            .startsWith("+3,60");
        assertThat(d.findElement(By.cssSelector("tr[data-host='skew-step'] td.clock")).getText())
            .matches("−(29\\d|30\\d).*");
      }
    }
    System.out.printf(
        "ClockSkewIT (%s): agents connected after %d s, done after %d s%n",
        memory ? "memory" : "influxdb",
        Duration.between(started, connected).toSeconds(),
        Duration.between(started, finished).toSeconds());
  }

  private static long number(StoredPoint p, String field) {
    Object v = p.fields().get(field);
    assertThat(v).as(p.measurement() + "." + field + " of " + p).isInstanceOf(Number.class);
    return Math.round(((Number) v).doubleValue());
  }
}
