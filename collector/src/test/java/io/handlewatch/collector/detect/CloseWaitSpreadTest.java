package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.detect.evaluation.TraceGenerator;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import io.handlewatch.proto.v1.HostReport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The host-level CLOSE_WAIT page "spread over sampled processes", under the default configuration:
 * for long-lived processes that together hold a growing count, not for workers whose counts rose
 * from zero when they were born.
 */
class CloseWaitSpreadTest {
  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");
  final List<Alert> alerts = new ArrayList<>();

  List<Alert> firings(List<HostReport> reports) {
    DetectionEngine e =
        new DetectionEngine(new DetectionFactory().build(), alerts::add, p -> {}, h -> Map.of());
    for (HostReport r : reports) e.evaluate(r);
    return alerts.stream().filter(a -> a.status() == Alert.Status.FIRING).toList();
  }

  static double minute(Alert a) {
    return Duration.between(T0, a.at()).toMillis() / 60_000.0;
  }

  @Test
  void aLeakSpreadOverLongLivedProcessesPagesTheHostNamingThem() {
    // Six workers up since long before, each leaking one socket every 50 s from minute 20 under
    // noise of ±4: none grows above its own noise for many minutes, together they rise 7/min.
    var g = new TraceGenerator("spread-1", T0, 5);
    for (int i = 0; i < 6; i++) {
      Curve cw = (m, r) -> 10 + 1.2 * Math.max(0, m - 20) + r.nextInt(9) - 4;
      Curve fds = (m, r) -> 300 + 1.2 * Math.max(0, m - 20) + r.nextInt(5);
      g.add(new Process(2_000 + i, 500 + i, "worker", 65_536, fds, cw, "10.0.0.9:80", 0, 1e9));
    }
    List<Alert> firing = firings(g.generate(40));

    assertThat(firing)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.labels()).containsEntry("alertname", "CloseWaitGrowing");
              assertThat(a.annotations().get("summary")).contains("spread over sampled processes");
              assertThat(a.annotations().get("description")).contains("worker[200");
              assertThat(minute(a)).isBetween(20.0, 32.0);
            });
  }

  @Test
  void aSpreadLeakStillPagesOnceEachProcessHasATrendTooSlowToPageOnItsOwn() {
    // Six long-lived workers, each leaking 1.5 sockets a minute from minute 20 under noise of ±1:
    // soon each shows growth of its own, below the 2/min that pages (an INFO verdict each), while
    // together they rise 9/min. Those verdicts page nothing, so they must not hold back the host's.
    var g = new TraceGenerator("spread-2", T0, 11);
    for (int i = 0; i < 6; i++) {
      Curve cw = (m, r) -> 10 + Math.floor(1.5 * Math.max(0, m - 20)) + r.nextInt(3) - 1;
      Curve fds = (m, r) -> 300 + 1.5 * Math.max(0, m - 20) + r.nextInt(5);
      g.add(new Process(3_000 + i, 600 + i, "worker", 65_536, fds, cw, "10.0.0.9:80", 0, 1e9));
    }
    List<Alert> firing = firings(g.generate(40));

    assertThat(firing)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.labels()).containsEntry("alertname", "CloseWaitGrowing");
              assertThat(a.labels()).doesNotContainKey("pid");
              assertThat(a.annotations().get("summary")).contains("spread over sampled processes");
              assertThat(a.annotations().get("description")).contains("worker[300");
              assertThat(minute(a)).isBetween(20.0, 32.0);
            });
  }

  @Test
  void workersBornAsTheHostsCountRoseAreNotASpreadLeak() {
    // A quiet host; from minute 25, short-lived workers are born one after another, each holding
    // up to 30 CLOSE_WAIT sockets from its first minute until it exits 3-4 minutes later. The
    // host's count rises for a few minutes each time a few are alive at once.
    var g = new TraceGenerator("workers-1", T0, 9);
    int pid = 30_000;
    double[] births = {25.0, 25.4, 25.9, 26.3, 31.2, 31.5, 31.9, 32.4, 32.6};
    for (double born : births) {
      Curve cw = (m, r) -> Math.min(28, (m - born) * 20);
      g.add(
          new Process(
              pid++,
              (long) (born * 6000),
              "php-fpm",
              1_024,
              TraceGenerator.jitter(60, 5),
              cw,
              "10.0.3.4:9000",
              born,
              born + 3.5));
    }

    assertThat(firings(g.generate(45))).as("pages").isEmpty();
  }
}
