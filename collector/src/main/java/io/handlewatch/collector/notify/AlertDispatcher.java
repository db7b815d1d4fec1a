package io.handlewatch.collector.notify;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import io.handlewatch.collector.detect.Alert;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the detector hands its alert transitions: {@link #accept} records the transition in the
 * book of active alerts and queues it for every notifier, and returns at once, whatever the
 * notifiers do. A {@link Alert.Status#RELEASED released} alert leaves the book without a word to
 * any receiver: it is no longer re-sent, and whatever waited to be sent for it is dropped. Each
 * notifier has its own sender thread that sends transitions promptly, re-sends every firing alert
 * each {@link DeliveryPolicy#resendInterval()}, and retries failures with backoff (see {@link
 * NotifierWorker}).
 *
 * <p>Metrics: {@code notify.transitions}, {@code notify.duplicates} (a firing alert handed over
 * again unchanged: not sent again), {@code notify.active} (firing alerts), {@code notify.dropped}
 * (all notifiers), and per notifier {@code notify.<name>.sent|failed|retries|rejected|dropped|
 * pending|latency}. One health check per notifier.
 */
public final class AlertDispatcher implements Consumer<Alert>, Managed {
  private static final Logger log = LoggerFactory.getLogger(AlertDispatcher.class);

  /** Incidents waiting per notifier before new ones are dropped. */
  public static final int DEFAULT_MAX_PENDING = 10_000;

  private final Map<String, Alert> active = new HashMap<>(); // guarded by itself
  private final List<NotifierWorker> workers;
  private final Meter transitions;
  private final Counter duplicates;
  private final Counter dropped;

  /**
   * @param destinations what the {@code notifiers:} configuration built; empty is fine (the book of
   *     active alerts is still kept)
   * @param maxPendingPerNotifier incidents that may wait for one notifier before new ones are
   *     dropped
   */
  public AlertDispatcher(
      List<Destination> destinations,
      MetricRegistry metrics,
      Clock clock,
      int maxPendingPerNotifier) {
    this.transitions = metrics.meter("notify.transitions");
    this.duplicates = metrics.counter("notify.duplicates");
    this.dropped = metrics.counter("notify.dropped");
    metrics.register("notify.active", (Gauge<Integer>) this::activeCount);
    Set<String> names = new HashSet<>();
    List<NotifierWorker> ws = new ArrayList<>();
    for (Destination d : destinations) {
      if (!names.add(d.notifier().name()))
        throw new IllegalArgumentException("two notifiers named " + d.notifier().name());
      ws.add(
          new NotifierWorker(
              d, this::activeAlerts, maxPendingPerNotifier, metrics, dropped, clock));
    }
    this.workers = List.copyOf(ws);
  }

  /**
   * Builds the dispatcher for the {@code notifiers:} configuration, registers its health checks
   * ({@code notify-<name>}) and lets the environment start and stop it.
   */
  public static AlertDispatcher build(List<NotifierFactory> factories, Environment env) {
    List<Destination> destinations = new ArrayList<>();
    for (NotifierFactory f : factories) destinations.addAll(f.build(Clock.systemUTC()));
    AlertDispatcher dispatcher =
        new AlertDispatcher(destinations, env.metrics(), Clock.systemUTC(), DEFAULT_MAX_PENDING);
    dispatcher.healthChecks().forEach(env.healthChecks()::register);
    env.lifecycle().manage(dispatcher);
    return dispatcher;
  }

  /** Never blocks: the transition is booked and queued for each notifier (or counted dropped). */
  @Override
  public void accept(Alert alert) {
    transitions.mark();
    synchronized (active) {
      if (alert.status() == Alert.Status.FIRING) {
        Alert before = active.put(alert.dedupKey(), alert);
        if (before != null && sameIncident(before, alert)) {
          duplicates.inc();
          return;
        }
      } else {
        // RESOLVED goes out; RELEASED only stops the re-sends (the workers forget it).
        active.remove(alert.dedupKey());
      }
      for (NotifierWorker w : workers) w.offer(alert, false);
    }
  }

  /** Same incident, nothing new to say: a re-send will carry it. */
  private static boolean sameIncident(Alert a, Alert b) {
    return a.startsAt().equals(b.startsAt())
        && a.labels().equals(b.labels())
        && a.annotations().equals(b.annotations());
  }

  /** The alerts firing now, oldest first. */
  public List<Alert> activeAlerts() {
    List<Alert> firing;
    synchronized (active) {
      firing = new ArrayList<>(active.values());
    }
    firing.sort(Comparator.comparing(Alert::startsAt).thenComparing(Alert::dedupKey));
    return firing;
  }

  private int activeCount() {
    synchronized (active) {
      return active.size();
    }
  }

  /** One health check per notifier, by name ({@code notify-<name>}). */
  public Map<String, HealthCheck> healthChecks() {
    Map<String, HealthCheck> checks = new LinkedHashMap<>();
    for (NotifierWorker w : workers) checks.put("notify-" + w.name(), w.healthCheck());
    return checks;
  }

  /** The notifiers' names, in configuration order. */
  public List<String> notifierNames() {
    return workers.stream().map(NotifierWorker::name).toList();
  }

  @Override
  public void start() {
    if (workers.isEmpty()) {
      log.info("notify: no notifiers configured; alerts are kept but page nobody");
    }
    for (NotifierWorker w : workers) {
      w.start();
      log.info("notify {}: started", w.name());
    }
  }

  @Override
  public void stop() throws InterruptedException {
    for (NotifierWorker w : workers) w.stop();
  }

  /** For tests: what waits for a notifier, by dedup key. */
  Map<String, NotifierWorker.Outgoing> pending(String notifierName) {
    for (NotifierWorker w : workers) if (w.name().equals(notifierName)) return w.pendingSnapshot();
    throw new IllegalArgumentException("no notifier " + notifierName);
  }
}
