package io.handlewatch.collector.detect;

import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.store.ListeningStore;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.proto.v1.HostReport;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A collector's detector in a test: one shard with its own view of {@code backend} (reports written
 * through {@link #store} reach it), its alerts in {@link #alerts}, and {@link #feed} returning once
 * the report is judged. The clock follows the reports fed.
 */
final class FedDetector implements AutoCloseable {
  final MetricRegistry metrics;
  final DetectionRunner detector;
  final SampleStore store;
  final List<Alert> alerts = new CopyOnWriteArrayList<>();
  private final MutableClock clock;
  private long fed;

  /**
   * @param wiring adds listeners to the detector before it starts (after {@link #alerts})
   */
  FedDetector(
      DetectionFactory config,
      SampleStore backend,
      MutableClock clock,
      MetricRegistry metrics,
      Consumer<DetectionRunner> wiring) {
    this.clock = clock;
    this.metrics = metrics;
    config.shards = 1;
    detector = new DetectionRunner(config, backend, metrics, clock, 1.0);
    detector.addAlertListener(alerts::add);
    wiring.accept(detector);
    store = new ListeningStore(backend, detector);
    detector.start();
  }

  FedDetector(DetectionFactory config, SampleStore backend, MutableClock clock) {
    this(config, backend, clock, new MetricRegistry(), d -> {});
  }

  void feed(HostReport r) throws Exception {
    clock.set(ReportPoints.timeOf(r));
    store.write(r).get(10, TimeUnit.SECONDS);
    fed++;
    await(() -> metrics.meter("detect.evaluations").getCount() >= fed, "judged " + r.getSeq());
  }

  long count(String counter) {
    return metrics.counter(counter).getCount();
  }

  /** Stops as a crash would: nothing more is judged. */
  @Override
  public void close() throws InterruptedException {
    detector.stop();
  }

  static void await(BooleanSupplier condition, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("never: " + what);
      Thread.sleep(1); // polling the detector's progress with a deadline
    }
  }
}
