package io.handlewatch.collector.notify;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.WarmUpListener;
import java.time.Clock;
import java.time.Instant;
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
 * <p>After a (re)start it asks each Alertmanager which of the product's alerts fire, and keeps each
 * alive, unchanged, while its host waits here for its history read ({@link #waiting} to {@link
 * #decided}): until that read is in, the detector does not know the incidents opened before the
 * restart, and Alertmanager would end them at their endsAt, to page them again once the read has
 * answered. Only hosts that report here are kept, only to receivers that expire alerts
 * (Alertmanager, never a webhook), and only what Alertmanager still shows firing.
 *
 * <p>Metrics: {@code notify.transitions}, {@code notify.duplicates} (a firing alert handed over
 * again unchanged: not sent again), {@code notify.active} (firing alerts), {@code notify.kept}
 * (alerts kept alive for hosts waiting for their history), {@code notify.dropped} (all notifiers),
 * and per notifier {@code notify.<name>.sent|failed|retries|rejected|dropped|pending|latency}, and
 * per Alertmanager {@code notify.<name>.startup.alerts|failed} (what it showed firing at start-up,
 * failed attempts to ask). One health check per notifier.
 */
public final class AlertDispatcher implements Consumer<Alert>, Managed, WarmUpListener {
  private static final Logger log = LoggerFactory.getLogger(AlertDispatcher.class);

  /** Incidents waiting per notifier before new ones are dropped. */
  public static final int DEFAULT_MAX_PENDING = 10_000;

  private final Map<String, Alert> active = new HashMap<>(); // guarded by itself

  /**
   * After a restart: what Alertmanager showed firing when asked at start-up, by host, until the
   * host's history read decides (guarded by {@link #active}). See {@link #waiting}.
   */
  private final Map<String, Map<String, AlertmanagerNotifier.Active>> shown = new HashMap<>();

  /** Of those, the alerts kept alive now, by host: their hosts wait for their history here. */
  private final Map<String, List<Alert>> kept = new HashMap<>();

  /** Hosts waiting for their history read (guarded by {@link #active}). */
  private final Set<String> waitingHosts = new HashSet<>();

  /** Hosts decided here while Alertmanager is still being asked: what it shows is stale. */
  private final Set<String> decidedWhileAsking = new HashSet<>();

  private int asking; // guarded by active
  private Instant shownUntil = Instant.MIN; // guarded by active
  private final List<Asker> askers = new ArrayList<>();
  private final Clock clock;
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
    this.clock = clock;
    metrics.register("notify.active", (Gauge<Integer>) this::activeCount);
    metrics.register("notify.kept", (Gauge<Integer>) this::keptCount);
    Set<String> names = new HashSet<>();
    List<NotifierWorker> ws = new ArrayList<>();
    for (Destination d : destinations) {
      if (!names.add(d.notifier().name()))
        throw new IllegalArgumentException("two notifiers named " + d.notifier().name());
      boolean expires = d.notifier().expires();
      ws.add(
          new NotifierWorker(
              d,
              expires ? this::expiringAlerts : this::activeAlerts,
              maxPendingPerNotifier,
              metrics,
              dropped,
              clock));
      if (d.notifier() instanceof AlertmanagerNotifier am) {
        askers.add(
            new Asker(
                am,
                d.policy(),
                metrics.counter(MetricRegistry.name("notify", am.name(), "startup.failed")),
                metrics.counter(MetricRegistry.name("notify", am.name(), "startup.alerts"))));
      }
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

  /** The alerts firing now and those kept alive for hosts waiting for their history. */
  private List<Alert> expiringAlerts() {
    List<Alert> all = activeAlerts();
    synchronized (active) {
      for (List<Alert> k : kept.values()) all.addAll(k);
    }
    return all;
  }

  private int keptCount() {
    synchronized (active) {
      int n = 0;
      for (List<Alert> k : kept.values()) n += k.size();
      return n;
    }
  }

  /**
   * A host new here waits for its history read: until it is in, the detector knows nothing of the
   * incidents it had open before this collector (re)started, and sends nothing for them, while
   * Alertmanager ends each at its endsAt, four re-sends after the last one before the restart. So
   * what Alertmanager showed firing for the host when asked at start-up is sent again now, and with
   * every re-send, unchanged (labels, annotations, startsAt), to the notifiers whose receiver
   * expires alerts; until {@link #decided}. Only what still fires is taken (its endsAt ahead): an
   * alert Alertmanager has ended stays ended. If Alertmanager has not answered yet, this is done
   * when it does.
   */
  @Override
  public void waiting(String host) {
    List<Alert> taken;
    synchronized (active) {
      if (asking == 0 && shown.isEmpty()) return;
      waitingHosts.add(host);
      taken = keep(host);
    }
    logKept(host, taken);
  }

  /**
   * The detector speaks for the host's incidents again: what was kept alive for it stops (nothing
   * is resolved; if the detector takes an incident over, its alert goes on with the same labels and
   * startsAt, else Alertmanager ends it at its endsAt, as after a read in time).
   */
  @Override
  public void decided(String host) {
    List<Alert> stopped;
    synchronized (active) {
      if (asking == 0 && shown.isEmpty() && kept.isEmpty() && waitingHosts.isEmpty()) return;
      waitingHosts.remove(host);
      shown.remove(host);
      if (asking > 0) decidedWhileAsking.add(host);
      stopped = kept.remove(host);
      if (stopped != null) {
        for (Alert a : stopped) {
          Alert released =
              new Alert(
                  Alert.Status.RELEASED,
                  a.dedupKey(),
                  a.labels(),
                  a.annotations(),
                  a.startsAt(),
                  null,
                  clock.instant());
          // Replaces a re-send still waiting: none goes out after this.
          for (NotifierWorker w : workers) if (w.expires()) w.offer(released, false);
        }
      }
    }
    if (stopped != null) {
      log.debug(
          "host {}: its history is in; {} alert(s) kept alive meanwhile left to detection",
          host,
          stopped.size());
    }
  }

  /** Takes what Alertmanager showed firing for a waiting host, and sends it. Under the lock. */
  private List<Alert> keep(String host) {
    Instant now = clock.instant();
    if (now.isAfter(shownUntil)) shown.clear(); // all of it ended in Alertmanager by now
    Map<String, AlertmanagerNotifier.Active> mine = shown.remove(host);
    if (mine == null) return List.of();
    List<Alert> taken = new ArrayList<>();
    List<Alert> already = kept.computeIfAbsent(host, h -> new ArrayList<>());
    for (AlertmanagerNotifier.Active a : mine.values()) {
      if (!a.endsAt().isAfter(now)) continue;
      if (already.stream().anyMatch(k -> k.dedupKey().equals(a.alert().dedupKey()))) continue;
      already.add(a.alert());
      taken.add(a.alert());
      for (NotifierWorker w : workers) if (w.expires()) w.offer(a.alert(), true);
    }
    if (already.isEmpty()) kept.remove(host);
    return taken;
  }

  private static void logKept(String host, List<Alert> taken) {
    if (taken.isEmpty()) return;
    log.info(
        "host {}: keeping {} alert(s) Alertmanager shows firing alive until its history is read: {}",
        host,
        taken.size(),
        taken.stream().map(a -> a.labels().get("alertname")).toList());
  }

  /** One member's answer: what it shows firing, kept for the hosts that come to wait here. */
  private void shown(AlertmanagerNotifier am, List<AlertmanagerNotifier.Active> alerts) {
    Map<String, List<Alert>> taken = new HashMap<>();
    synchronized (active) {
      for (AlertmanagerNotifier.Active a : alerts) {
        String host = a.alert().host();
        if (host == null || decidedWhileAsking.contains(host)) continue;
        // Members of a cluster each hold what was sent to them: the latest endsAt is the truth.
        shown
            .computeIfAbsent(host, h -> new HashMap<>())
            .merge(a.alert().dedupKey(), a, (x, y) -> x.endsAt().isAfter(y.endsAt()) ? x : y);
        if (a.endsAt().isAfter(shownUntil)) shownUntil = a.endsAt();
      }
      for (String host : waitingHosts) {
        if (!shown.containsKey(host)) continue;
        List<Alert> t = keep(host);
        if (!t.isEmpty()) taken.put(host, t);
      }
    }
    log.info(
        "notify {}: at start-up Alertmanager shows {} handlewatch alert(s) firing, on {} host(s);"
            + " each is kept alive while its host waits here for its history read",
        am.name(),
        alerts.size(),
        alerts.stream().map(a -> a.alert().host()).distinct().count());
    taken.forEach(AlertDispatcher::logKept);
  }

  private void doneAsking() {
    synchronized (active) {
      if (--asking == 0) decidedWhileAsking.clear();
    }
  }

  /**
   * Asks one Alertmanager at start-up which of the product's alerts fire, retrying with the
   * notifier's backoff for as long as an answer is of use: four re-send intervals, after which
   * everything sent before the restart has ended there unless another collector keeps it alive.
   */
  private final class Asker {
    final AlertmanagerNotifier am;
    final RetryPolicy<List<AlertmanagerNotifier.Active>> retryPolicy;
    final Counter failed;
    final Counter found;
    Thread thread;

    Asker(AlertmanagerNotifier am, DeliveryPolicy policy, Counter failed, Counter found) {
      this.am = am;
      this.failed = failed;
      this.found = found;
      // A refusal or an answer that is no list of alerts would come again: asked once.
      this.retryPolicy =
          RetryPolicy.<List<AlertmanagerNotifier.Active>>builder()
              .handleIf((result, e) -> e instanceof NotifyException n && n.retryable())
              .withBackoff(policy.retryInitialDelay(), policy.retryMaxDelay())
              .withJitter(0.2)
              .withMaxRetries(-1)
              .withMaxDuration(policy.resendInterval().multipliedBy(4))
              .onFailedAttempt(
                  e -> {
                    failed.inc();
                    if (failed.getCount() > 1) return;
                    boolean again =
                        e.getLastException() instanceof NotifyException n && n.retryable();
                    log.warn(
                        "notify {}: cannot ask Alertmanager which alerts fire{}: {}; an incident"
                            + " open before this start ends there at its endsAt if its host's"
                            + " history read answers after it",
                        am.name(),
                        again
                            ? " (retrying for " + policy.resendInterval().multipliedBy(4) + ")"
                            : "",
                        e.getLastException().getMessage());
                  })
              .build();
    }

    void run() {
      try {
        List<AlertmanagerNotifier.Active> alerts = Failsafe.with(retryPolicy).get(am::active);
        found.inc(alerts.size());
        shown(am, alerts);
      } catch (FailsafeException e) {
        if (e.getCause() instanceof InterruptedException) return; // stop()
        if (!(e.getCause() instanceof NotifyException n && n.retryable())) return; // logged once
        log.warn(
            "notify {}: gave up asking Alertmanager which alerts fire after {} attempt(s): {}",
            am.name(),
            failed.getCount(),
            e.getCause().getMessage());
      } catch (RuntimeException e) {
        log.error("notify {}: asking Alertmanager which alerts fire failed", am.name(), e);
      } finally {
        doneAsking();
      }
    }
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
    synchronized (active) {
      asking = askers.size();
    }
    for (Asker a : askers) {
      a.thread = Thread.ofVirtual().name("notify-ask-" + a.am.name()).start(a::run);
    }
  }

  @Override
  public void stop() throws InterruptedException {
    for (Asker a : askers) if (a.thread != null) a.thread.interrupt();
    for (NotifierWorker w : workers) w.stop();
  }

  /** For tests: what waits for a notifier, by dedup key. */
  Map<String, NotifierWorker.Outgoing> pending(String notifierName) {
    for (NotifierWorker w : workers) if (w.name().equals(notifierName)) return w.pendingSnapshot();
    throw new IllegalArgumentException("no notifier " + notifierName);
  }
}
