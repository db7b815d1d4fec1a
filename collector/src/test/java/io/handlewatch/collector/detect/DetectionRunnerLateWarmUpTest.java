package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.detect.evaluation.TraceGenerator;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.proto.v1.HostReport;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A warm-up read that answers after {@code warmUp.timeout}: the host starts cold, and once the read
 * is back its history is merged before the reports judged cold meanwhile. From then on its verdicts
 * are exactly those of a collector whose read came in time: same window, same incident.
 */
class DetectionRunnerLateWarmUpTest {
  static final Instant T0 = DetectionEngineTest.T0;
  static final String HOST = DetectionRunnerTakeoverTest.HOST;

  final MutableClock clock = new MutableClock(T0);
  final MemoryStore shared =
      new MemoryStore(256 << 20, Duration.ofDays(1), clock, new MetricRegistry());
  final List<FedDetector> started = new ArrayList<>();

  /** One detector with its own view of the store (reports written there reach it). */
  FedDetector collector(DetectionFactory config, SampleStore backend) {
    FedDetector d = new FedDetector(config, backend, clock);
    started.add(d);
    return d;
  }

  @AfterEach
  void stop() throws Exception {
    for (FedDetector d : started) d.close();
  }

  @Test
  void aReadThatAnswersAfterTheTimeoutIsMergedAndTheVerdictsAreThoseOfAReadInTime()
      throws Exception {
    List<HostReport> trace = DetectionRunnerTakeoverTest.leak();
    int move = 35 * 6; // minute 35: the incident is open, the leak goes on until minute 55
    FedDetector a = collector(new DetectionFactory(), shared);
    for (HostReport r : trace.subList(0, move)) a.feed(r);
    assertThat(a.alerts).extracting(Alert::status).contains(Alert.Status.FIRING);
    Alert paged = a.alerts.getFirst();

    // "inTime" reads the store at once; "late" has its read held until three reports were judged.
    CountDownLatch letGo = new CountDownLatch(1);
    FedDetector late = lateCollector(letGo);
    FedDetector inTime = collector(new DetectionFactory(), shared);

    for (HostReport r : trace.subList(move, move + 3)) {
      inTime.feed(r);
      late.feed(r); // the first waits for its read, then is judged cold at the timeout
    }
    assertThat(late.count("detect.warmup.cold")).isEqualTo(1);
    assertThat(late.count("detect.warmup.late")).isZero();
    assertThat(late.alerts).as("cold: no trend yet").isEmpty();
    assertThat(inTime.alerts).extracting(Alert::startsAt).containsOnly(paged.startsAt());

    letGo.countDown();
    FedDetector.await(() -> late.count("detect.warmup.late") == 1, "late history merged");
    assertThat(late.count("detect.warmup.hosts")).as("not warmed in time").isZero();
    assertThat(late.count("detect.warmup.late.failed")).isZero();
    // The window's 30 minutes of reports before the first judged cold, none of those three again.
    assertThat(late.count("detect.warmup.reports")).isBetween(179L, 181L);
    assertThat(late.count("detect.warmup.incidents")).isEqualTo(1);

    int compared = 0;
    for (HostReport r : trace.subList(move + 3, trace.size())) {
      inTime.feed(r);
      late.feed(r);
      assertThat(late.detector.view().verdicts(HOST))
          .as("verdicts at %s", ReportPoints.timeOf(r))
          .isEqualTo(inTime.detector.view().verdicts(HOST));
      assertThat(late.detector.view().findings(HOST))
          .isEqualTo(inTime.detector.view().findings(HOST));
      compared++;
    }
    assertThat(compared).isGreaterThan(250);
    // The incident goes on under the same start, and resolves when the in-time one does.
    Alert continued = late.alerts.getFirst();
    assertThat(continued.status()).isEqualTo(Alert.Status.FIRING);
    assertThat(continued.startsAt()).isEqualTo(paged.startsAt());
    assertThat(continued.dedupKey()).isEqualTo(paged.dedupKey());
    assertThat(continued.at()).isEqualTo(ReportPoints.timeOf(trace.get(move + 3)));
    assertThat(late.alerts.getLast().status()).isEqualTo(Alert.Status.RESOLVED);
    assertThat(late.alerts.getLast().at()).isEqualTo(inTime.alerts.getLast().at());
    assertThat(late.alerts.getLast().endsAt()).isEqualTo(inTime.alerts.getLast().endsAt());
  }

  /**
   * A process started after the restart leaks CLOSE_WAIT while its host is cold: its trend is known
   * from its start, so it pages at once. The leak pauses (its sockets held) and the late history is
   * merged while its verdict is absent; the incident must stay open on the held sockets, and the
   * leak that resumes is the same page, exactly as on a collector whose read came in time.
   */
  @Test
  void anIncidentPagedWhileColdKeepsItsBaselineAcrossTheLateMerge() throws Exception {
    int restart = 40 * 6; // minute 40
    // Up 40/min from minute 40.5 to 42.5, then held (no one closes them); up again from minute 60
    // to 63, held until minute 68, when the process finally closes them.
    TraceGenerator.Curve cw =
        (m, rng) -> {
          if (m < 40.5) return 0;
          if (m < 42.5) return 40 * (m - 40.5);
          if (m < 60) return 80;
          if (m < 63) return 80 + 40 * (m - 60);
          return m < 68 ? 200 : 0;
        };
    List<HostReport> trace =
        new TraceGenerator(HOST, T0, 7)
            .add(
                new TraceGenerator.Process(
                    5120,
                    7_700,
                    "java",
                    65_536,
                    (m, rng) -> 300 + cw.at(m, rng),
                    cw,
                    "10.0.0.7:6379",
                    40.2,
                    1e9))
            .generate(80);
    FedDetector a = collector(new DetectionFactory(), shared);
    for (HostReport r : trace.subList(0, restart)) a.feed(r);
    assertThat(a.alerts).isEmpty();

    CountDownLatch letGo = new CountDownLatch(1);
    FedDetector late = lateCollector(letGo);
    FedDetector inTime = collector(new DetectionFactory(), shared);

    // Minutes 40 to 45.5: the cold window pages the new process, then its verdict clears.
    int merge = 45 * 6 + 3;
    for (HostReport r : trace.subList(restart, merge)) {
      inTime.feed(r);
      late.feed(r);
    }
    assertThat(late.count("detect.warmup.cold")).isEqualTo(1);
    assertThat(late.alerts).extracting(Alert::status).containsExactly(Alert.Status.FIRING);
    assertThat(inTime.alerts).extracting(Alert::status).containsExactly(Alert.Status.FIRING);
    Alert paged = late.alerts.getFirst();
    assertThat(paged.dedupKey()).contains("java[5120]");
    assertThat(late.detector.view().verdicts(HOST))
        .as("merged while the verdict is absent")
        .noneMatch(v -> v.dedupKey().equals(paged.dedupKey()) && v.severity().pages());

    letGo.countDown();
    FedDetector.await(() -> late.count("detect.warmup.late") == 1, "late history merged");
    for (HostReport r : trace.subList(merge, trace.size())) {
      inTime.feed(r);
      late.feed(r);
    }
    // One page, held open by the sockets left behind, resumed and resolved as the in-time one.
    assertThat(inTime.alerts)
        .extracting(Alert::status)
        .containsExactly(Alert.Status.FIRING, Alert.Status.RESOLVED);
    assertThat(late.alerts)
        .extracting(Alert::status, Alert::startsAt, Alert::at)
        .isEqualTo(
            inTime.alerts.stream()
                .map(x -> org.assertj.core.groups.Tuple.tuple(x.status(), x.startsAt(), x.at()))
                .toList());
    assertThat(late.alerts.getLast().at()).isAfter(T0.plusSeconds(68 * 60));
  }

  /**
   * The alert dispatcher keeps what Alertmanager showed firing alive from the moment the host waits
   * for its history until the detector decides: it must hear "decided" once the late history is
   * merged, before the first transition judged on the rebuilt window (a takeover that escalates
   * resolves the old labels, which a keep-alive sent after it would bring back).
   */
  @Test
  void warmUpListenersHearTheHostWaitAndThenDecidedBeforeTheTakeoverFires() throws Exception {
    List<HostReport> trace = DetectionRunnerTakeoverTest.leak();
    int move = 35 * 6;
    FedDetector a = collector(new DetectionFactory(), shared);
    for (HostReport r : trace.subList(0, move)) a.feed(r);
    CountDownLatch letGo = new CountDownLatch(1);
    FedDetector late = lateCollector(letGo);
    List<String> heard = new CopyOnWriteArrayList<>();
    late.detector.addWarmUpListener(
        new WarmUpListener() {
          @Override
          public void waiting(String host) {
            heard.add("waiting " + host);
          }

          @Override
          public void decided(String host) {
            heard.add("decided " + host);
          }
        });
    late.detector.addAlertListener(x -> heard.add(x.status() + " " + x.host()));
    for (HostReport r : trace.subList(move, move + 3)) late.feed(r);
    assertThat(heard).as("cold, read held: not decided").containsExactly("waiting " + HOST);
    letGo.countDown();
    FedDetector.await(() -> late.count("detect.warmup.late") == 1, "late history merged");
    late.feed(trace.get(move + 3));
    assertThat(heard).containsExactly("waiting " + HOST, "decided " + HOST, "FIRING " + HOST);
  }

  /**
   * A collector on the shared store whose history reads wait until {@code letGo}: its hosts start
   * cold at a 300 ms timeout and are merged late.
   */
  FedDetector lateCollector(CountDownLatch letGo) {
    DetectionFactory config = new DetectionFactory();
    config.warmUp.timeout = io.dropwizard.util.Duration.milliseconds(300);
    return collector(config, heldHistoryReads(letGo, new AtomicInteger()));
  }

  /** The shared store, whose history reads (counted in {@code reads}) wait until {@code letGo}. */
  SampleStore heldHistoryReads(CountDownLatch letGo, AtomicInteger reads) {
    return (SampleStore)
        Proxy.newProxyInstance(
            SampleStore.class.getClassLoader(),
            new Class<?>[] {SampleStore.class},
            (proxy, method, args) -> {
              if (method.getName().startsWith("histor")) {
                reads.incrementAndGet();
                assertThat(letGo.await(20, TimeUnit.SECONDS)).isTrue();
              }
              try {
                return method.invoke(shared, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  @Test
  void withLateForZeroALateReadIsDroppedAndTheHostStaysCold() throws Exception {
    List<HostReport> trace = DetectionRunnerTakeoverTest.leak();
    int move = 35 * 6;
    FedDetector a = collector(new DetectionFactory(), shared);
    for (HostReport r : trace.subList(0, move)) a.feed(r);
    CountDownLatch letGo = new CountDownLatch(1);
    AtomicInteger reads = new AtomicInteger();
    SampleStore slow = heldHistoryReads(letGo, reads);
    DetectionFactory config = new DetectionFactory();
    config.warmUp.timeout = io.dropwizard.util.Duration.milliseconds(300);
    config.warmUp.lateFor = io.dropwizard.util.Duration.seconds(0);
    FedDetector late = collector(config, slow);
    late.feed(trace.get(move));
    letGo.countDown();
    FedDetector.await(() -> reads.get() == 1, "the read ran");
    for (HostReport r : trace.subList(move + 1, move + 10)) late.feed(r);
    assertThat(late.count("detect.warmup.cold")).isEqualTo(1);
    assertThat(late.count("detect.warmup.late")).isZero();
    assertThat(late.count("detect.warmup.hosts")).isZero();
    assertThat(late.alerts).isEmpty();
  }
}
