package io.handlewatch.collector.detect;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.dropwizard.lifecycle.Managed;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreListener;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs detection beside ingest without ever slowing it: {@link #stored} (called once the store
 * holds a report) only offers the report to a bounded queue, and one thread evaluates reports in
 * arrival order. A full queue skips the report, counts it ({@code detect.queue.dropped}) and says
 * so in the log; a host's window tolerates the gap. Alert transitions go to the listeners added
 * with {@link #addAlertListener} (the notifiers), verdict points to the store.
 *
 * <p>Metrics: {@code detect.evaluations}, {@code detect.cost} (per report), {@code
 * detect.queue.dropped}, {@code detect.queue.depth}, {@code detect.alerts.firing}, {@code
 * detect.transitions.firing|resolved}, {@code detect.verdicts.<kind>.<severity>}, {@code
 * detect.points.failed}.
 */
public final class Detector implements Managed, StoreListener {
  private static final Logger log = LoggerFactory.getLogger(Detector.class);

  private final DetectionEngine engine;
  private final ArrayBlockingQueue<HostReport> queue;
  private final Clock clock;
  private final Duration sweepEvery;
  private final List<Consumer<Alert>> listeners = new CopyOnWriteArrayList<>();
  private final MetricRegistry metrics;
  private final Meter evaluations;
  private final Timer cost;
  private final Counter dropped;
  private final Counter pointsFailed;
  private final Counter firing;
  private final Counter resolved;
  private final Map<String, Counter> verdictCounters = new ConcurrentHashMap<>();
  private final AtomicLong droppedSinceLog = new AtomicLong();
  private volatile int openIncidents;
  private volatile Thread thread;
  private volatile boolean running;

  public Detector(DetectionFactory config, SampleStore store, MetricRegistry metrics, Clock clock) {
    this.metrics = metrics;
    this.clock = clock;
    this.queue = new ArrayBlockingQueue<>(config.queueCapacity);
    this.sweepEvery = Duration.ofMillis(Math.max(1000, config.resolution.toMilliseconds()));
    this.evaluations = metrics.meter("detect.evaluations");
    this.cost = metrics.timer("detect.cost");
    this.dropped = metrics.counter("detect.queue.dropped");
    this.pointsFailed = metrics.counter("detect.points.failed");
    this.firing = metrics.counter("detect.transitions.firing");
    this.resolved = metrics.counter("detect.transitions.resolved");
    metrics.gauge("detect.queue.depth", () -> queue::size);
    metrics.gauge("detect.alerts.firing", () -> () -> openIncidents);
    this.engine =
        new DetectionEngine(
            config, this::transition, points -> write(store, points), h -> known(store, h));
  }

  /** Adds a receiver of alert transitions (a notifier). Called on the detector thread. */
  public void addAlertListener(Consumer<Alert> listener) {
    listeners.add(listener);
  }

  /** The read side for the API. */
  public DetectionView view() {
    return engine.view();
  }

  @Override
  public void stored(HostReport report) {
    if (queue.offer(report)) return;
    dropped.inc();
    long n = droppedSinceLog.incrementAndGet();
    if (n == 1 || Long.bitCount(n) == 1) {
      log.warn(
          "detector queue full ({} reports): skipped report seq={} of host {} ({} skipped since"
              + " the last evaluation caught up; detection lags ingest)",
          queue.remainingCapacity() + queue.size(),
          report.getSeq(),
          ReportPoints.hostOf(report),
          n);
    }
  }

  @Override
  public void start() {
    running = true;
    thread = Thread.ofPlatform().name("detector").daemon(true).start(this::loop);
  }

  @Override
  public void stop() throws InterruptedException {
    running = false;
    Thread t = thread;
    if (t != null) {
      t.interrupt();
      t.join(10_000);
    }
  }

  private void loop() {
    Instant nextSweep = clock.instant().plus(sweepEvery);
    while (running) {
      try {
        HostReport r = queue.poll(sweepEvery.toMillis(), TimeUnit.MILLISECONDS);
        if (r != null) evaluate(r);
        Instant now = clock.instant();
        if (!now.isBefore(nextSweep)) {
          engine.sweep(now);
          openIncidents = engine.firing();
          nextSweep = now.plus(sweepEvery);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        // One bad report must not end detection for the fleet.
        log.error("detector: evaluation failed, continuing", e);
      }
    }
  }

  private void evaluate(HostReport r) {
    List<Verdict> verdicts;
    try (Timer.Context t = cost.time()) {
      verdicts = engine.evaluate(r);
    }
    evaluations.mark();
    openIncidents = engine.firing();
    if (queue.isEmpty()) droppedSinceLog.set(0);
    for (Verdict v : verdicts) {
      verdictCounters
          .computeIfAbsent(
              v.kind().tag() + "." + v.severity().label(),
              k -> metrics.counter("detect.verdicts." + k))
          .inc();
    }
  }

  private void transition(Alert a) {
    (a.status() == Alert.Status.FIRING ? firing : resolved).inc();
    log.info(
        "alert {}: {} {} {} ({})",
        a.status().name().toLowerCase(java.util.Locale.ROOT),
        a.labels().get("severity"),
        a.labels().get("alertname"),
        a.dedupKey(),
        a.annotations().get("summary"));
    for (Consumer<Alert> l : listeners) {
      try {
        l.accept(a);
      } catch (RuntimeException e) {
        log.error("alert listener failed on {} {}", a.status(), a.dedupKey(), e);
      }
    }
  }

  private void write(SampleStore store, List<StoredPoint> points) {
    store
        .writePoints(points)
        .whenComplete(
            (outcome, failure) -> {
              if (failure != null || outcome.pointsDropped() > 0) {
                pointsFailed.inc(points.size());
                log.warn(
                    "verdict points of host {} not stored ({} points): {}",
                    points.getFirst().host(),
                    points.size(),
                    failure != null ? failure.toString() : outcome.pointsDropped() + " dropped");
              }
            });
  }

  private static Map<String, String> known(SampleStore store, String host) {
    Map<String, String> out = new HashMap<>();
    store
        .latest(host)
        .ifPresent(
            r -> {
              for (Sysctl s : r.getSample().getSysctlsList()) out.put(s.getName(), s.getValue());
            });
    return out;
  }
}
