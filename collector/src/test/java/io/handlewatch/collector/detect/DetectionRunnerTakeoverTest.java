package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.store.ListeningStore;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreException;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two collectors' detectors on one store, as behind a load balancer: a host leaking CLOSE_WAIT
 * moves from A to B mid-leak. B rebuilds the window from the store and takes the incident over
 * (same labels, same startsAt: Alertmanager sees one alert go on); A lets go of it without
 * resolving; B resolves it once the leak has stopped.
 */
class DetectionRunnerTakeoverTest {
  static final Instant T0 = DetectionEngineTest.T0;
  static final String HOST = "db-17";

  final MutableClock clock = new MutableClock(T0);
  final MemoryStore shared =
      new MemoryStore(256 << 20, Duration.ofDays(1), clock, new MetricRegistry());
  final List<Collector> started = new ArrayList<>();

  /** One collector's detector, its alerts, and the store as its ingest sees it. */
  final class Collector {
    final MetricRegistry metrics = new MetricRegistry();
    final DetectionRunner detector;
    final SampleStore store;
    final List<Alert> alerts = new CopyOnWriteArrayList<>();
    long fed;

    Collector(DetectionFactory config, SampleStore backend) {
      this(config, backend, 1.0);
    }

    Collector(DetectionFactory config, SampleStore backend, double admissionShare) {
      detector = new DetectionRunner(config, backend, metrics, clock, admissionShare);
      detector.addAlertListener(alerts::add);
      store = new ListeningStore(backend, detector);
      detector.start();
      started.add(this);
    }

    /** Stores the report as ingest would, moves the clock to it, waits until it is judged. */
    void feed(HostReport r) throws Exception {
      clock.set(ReportPoints.timeOf(r));
      store.write(r).get(10, TimeUnit.SECONDS);
      fed++;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (metrics.meter("detect.evaluations").getCount() < fed) {
        if (System.nanoTime() > deadline)
          throw new AssertionError("report not judged: " + r.getSeq());
        Thread.sleep(1); // polling the detector's progress with a deadline
      }
    }

    long count(String counter) {
      return metrics.counter(counter).getCount();
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (Collector c : started) c.detector.stop();
  }

  /** A leak from minute 20 to 55, then the process closes its sockets. */
  static List<HostReport> leak() {
    return DetectionEngineTest.leak(HOST, 55, 85);
  }

  /** A's own other host, all quiet: a collector serves a fleet, so its detector keeps running. */
  static HostReport steady(Instant at) {
    return io.handlewatch.collector.testing.TestReports.report("steady", 1, at);
  }

  /** Runs the move at minute 35 and returns the alerts of A and B. */
  private List<List<Alert>> moveAtMinute35(DetectionFactory config, SampleStore backendOfB)
      throws Exception {
    return moveAtMinute35(config, backendOfB, 1.0);
  }

  private List<List<Alert>> moveAtMinute35(
      DetectionFactory config, SampleStore backendOfB, double admissionShareOfB) throws Exception {
    // One shard: a shard sweeps (and releases) when it takes a report or after sweepEvery of real
    // time, so the quiet host that keeps A's detector running must share the leaking host's shard
    // (the default count depends on the machine's cores, and so would where the two hosts land).
    if (config.shards == 0) config.shards = 1;
    Collector a = new Collector(config, shared);
    Collector b = new Collector(config, backendOfB, admissionShareOfB);
    for (HostReport r : leak()) {
      Instant at = ReportPoints.timeOf(r);
      boolean moved = !at.isBefore(T0.plusSeconds(35 * 60));
      (moved ? b : a).feed(r);
      a.feed(steady(at));
    }
    return List.of(a.alerts, b.alerts);
  }

  @Test
  void theCollectorThatGainsAHostMidLeakTakesTheIncidentOverAndTheOtherLetsGo() throws Exception {
    List<List<Alert>> alerts = moveAtMinute35(new DetectionFactory(), shared);
    List<Alert> a = alerts.get(0);
    List<Alert> b = alerts.get(1);

    assertThat(a)
        .extracting(Alert::status)
        .containsExactly(Alert.Status.FIRING, Alert.Status.RELEASED);
    Alert paged = a.getFirst();
    assertThat(paged.at()).isBefore(T0.plusSeconds(35 * 60));
    // Released once A had heard nothing of the host for releaseAfter (5 min).
    assertThat(a.getLast().at()).isBetween(T0.plusSeconds(40 * 60), T0.plusSeconds(41 * 60));

    assertThat(b)
        .extracting(Alert::status)
        .containsExactly(Alert.Status.FIRING, Alert.Status.RESOLVED);
    Alert continued = b.getFirst();
    assertThat(continued.labels()).isEqualTo(paged.labels());
    assertThat(continued.startsAt()).isEqualTo(paged.startsAt());
    assertThat(continued.dedupKey()).isEqualTo(paged.dedupKey());
    // The first report B judged continued the incident: no gap while a cold window refills.
    assertThat(continued.at()).isBefore(T0.plusSeconds(35 * 60 + 30));
    assertThat(b.getLast().startsAt()).isEqualTo(paged.startsAt());
    assertThat(b.getLast().endsAt()).isAfter(T0.plusSeconds(55 * 60));
  }

  @Test
  void theWarmUpIsCounted() throws Exception {
    DetectionFactory config = new DetectionFactory();
    Collector b = new Collector(config, shared);
    Collector a = new Collector(config, shared);
    List<HostReport> trace = leak();
    for (HostReport r : trace.subList(0, 200)) a.feed(r);
    b.feed(trace.get(200));
    assertThat(b.count("detect.warmup.hosts")).isEqualTo(1);
    assertThat(b.count("detect.warmup.incidents")).isEqualTo(1);
    // The window's 30 minutes of 10 s reports, the one being judged excluded.
    assertThat(b.count("detect.warmup.reports")).isBetween(179L, 181L);
    assertThat(b.count("detect.warmup.cold")).isZero();
    assertThat(b.count("detect.warmup.empty")).isZero();
    assertThat(a.count("detect.warmup.empty")).as("A: new to the store").isEqualTo(1);
    assertThat(b.metrics.timer("detect.warmup.latency").getCount()).isEqualTo(1);
    // The first report, held for the read, is timed once judged: once for the host.
    assertThat(b.metrics.timer("detect.warmup.resumed").getCount()).isEqualTo(1);
    assertThat(b.metrics.timer("detect.latency").getCount()).isEqualTo(1);
  }

  @Test
  void withoutWarmUpTheMovedLeakIsANewIncident() throws Exception {
    DetectionFactory config = new DetectionFactory();
    config.warmUp.enabled = false;
    List<List<Alert>> alerts = moveAtMinute35(config, shared);
    Alert paged = alerts.get(0).getFirst();
    List<Alert> b = alerts.get(1);
    assertThat(b).isNotEmpty();
    // B needs minHistory (15 min) of its own before the trend may page: a gap, then a new start.
    assertThat(b.getFirst().at()).isAfter(T0.plusSeconds(49 * 60));
    assertThat(b.getFirst().startsAt()).isNotEqualTo(paged.startsAt());
  }

  @Test
  void whenTheStoreCannotAnswerTheHostStartsColdAndSaysSo() throws Exception {
    SampleStore noHistory =
        (SampleStore)
            Proxy.newProxyInstance(
                SampleStore.class.getClassLoader(),
                new Class<?>[] {SampleStore.class},
                (proxy, method, args) -> {
                  if (method.getName().startsWith("histor")) {
                    throw new StoreException(StoreException.Kind.TRANSIENT, "influxdb is down");
                  }
                  try {
                    return method.invoke(shared, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    List<List<Alert>> alerts = moveAtMinute35(new DetectionFactory(), noHistory);
    assertThat(started.get(1).count("detect.warmup.cold")).isEqualTo(1);
    assertThat(started.get(1).count("detect.warmup.hosts")).isZero();
    assertThat(alerts.get(1).getFirst().at()).isAfter(T0.plusSeconds(49 * 60));
  }

  @Test
  void whileTheStoreIsBehindOnWritesTheHistoryIsStillReadPacedAndTheIncidentTakenOver()
      throws Exception {
    java.util.concurrent.atomic.AtomicInteger reads =
        new java.util.concurrent.atomic.AtomicInteger();
    SampleStore behind =
        (SampleStore)
            Proxy.newProxyInstance(
                SampleStore.class.getClassLoader(),
                new Class<?>[] {SampleStore.class},
                (proxy, method, args) -> {
                  switch (method.getName()) {
                    case "writeBacklog" -> {
                      // Half the write buffer waiting: all that ingest's budget (half) may fill,
                      // as during a fleet's reconnection after a restart.
                      return 0.5;
                    }
                    case "history", "histories" -> reads.incrementAndGet();
                    default -> {}
                  }
                  try {
                    return method.invoke(shared, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    List<List<Alert>> alerts = moveAtMinute35(new DetectionFactory(), behind, 0.5);
    Collector b = started.get(1);
    assertThat(reads).as("history reads while writes wait").hasValue(1);
    assertThat(b.count("detect.warmup.paced")).isEqualTo(1);
    assertThat(b.count("detect.warmup.hosts")).isEqualTo(1);
    assertThat(b.count("detect.warmup.cold")).isZero();
    Alert paged = alerts.get(0).getFirst();
    Alert continued = alerts.get(1).getFirst();
    assertThat(continued.startsAt()).isEqualTo(paged.startsAt());
    assertThat(continued.at()).isBefore(T0.plusSeconds(35 * 60 + 30));

    // The same store with a quarter of the buffer waiting is not behind: the read is not paced.
    DetectionFactory config = new DetectionFactory();
    SampleStore keepingUp =
        (SampleStore)
            Proxy.newProxyInstance(
                SampleStore.class.getClassLoader(),
                new Class<?>[] {SampleStore.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("writeBacklog")) return 0.24;
                  try {
                    return method.invoke(shared, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    moveAtMinute35(config, keepingUp, 0.5);
    assertThat(started.get(3).count("detect.warmup.hosts")).isEqualTo(1);
    assertThat(started.get(3).count("detect.warmup.paced")).isZero();
  }
}
