package io.handlewatch.collector.notify;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.codahale.metrics.health.HealthCheck;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import io.handlewatch.collector.detect.Alert;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers to one notifier on its own thread, so a slow or dead receiver holds up nothing else.
 * What waits to be sent is kept per dedup key, newest transition wins (a resolve replaces the
 * trigger it ends), so a long outage costs one entry per incident, never a growing backlog; past
 * {@code maxPending} incidents new ones are dropped and counted. Retryable failures are retried
 * with exponential backoff and jitter until the receiver answers; rejections are counted, logged
 * and dropped.
 */
final class NotifierWorker {
  private static final Logger log = LoggerFactory.getLogger(NotifierWorker.class);
  private static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(10);
  private static final long DROP_LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** An alert waiting to go out; {@code resend} when it only repeats what was already sent. */
  record Outgoing(Alert alert, boolean resend) {}

  private final Notifier notifier;
  private final DeliveryPolicy policy;
  private final Supplier<Collection<Alert>> firing;
  private final int maxPending;
  private final Clock clock;
  private final RetryPolicy<Void> retryPolicy;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition work = lock.newCondition();
  private final LinkedHashMap<String, Outgoing> pending = new LinkedHashMap<>();
  private boolean resendDue; // guarded by lock
  private long dropsSinceLog; // guarded by lock
  private long lastDropLog; // guarded by lock
  private boolean droppedBefore; // guarded by lock

  private final Meter sent;
  private final Counter failed;
  private final Counter retries;
  private final Counter rejected;
  private final Counter dropped;
  private final Counter totalDropped;
  private final Timer latency;

  private volatile boolean running;
  private Thread thread;

  // Health, written by the worker thread only.
  private volatile Instant failingSince;
  private volatile long failedAttempts;
  private volatile String lastFailure;
  private volatile Instant lastDelivered;
  private volatile Instant lastRejected;
  private volatile String lastRejection;

  NotifierWorker(
      Destination destination,
      Supplier<Collection<Alert>> firing,
      int maxPending,
      MetricRegistry metrics,
      Counter totalDropped,
      Clock clock) {
    this.notifier = destination.notifier();
    this.policy = destination.policy();
    this.firing = firing;
    this.maxPending = maxPending;
    this.clock = clock;
    this.totalDropped = totalDropped;
    String prefix = MetricRegistry.name("notify", notifier.name());
    this.sent = metrics.meter(prefix + ".sent");
    this.failed = metrics.counter(prefix + ".failed");
    this.retries = metrics.counter(prefix + ".retries");
    this.rejected = metrics.counter(prefix + ".rejected");
    this.dropped = metrics.counter(prefix + ".dropped");
    this.latency = metrics.timer(prefix + ".latency");
    metrics.register(prefix + ".pending", (Gauge<Integer>) this::pendingCount);
    this.retryPolicy =
        RetryPolicy.<Void>builder()
            .handleIf((result, e) -> e instanceof NotifyException n && n.retryable())
            .withBackoff(policy.retryInitialDelay(), policy.retryMaxDelay())
            .withJitter(0.2)
            .withDelayFn(
                ctx ->
                    // A negative delay tells Failsafe to use the backoff instead. Jitter (±20 %)
                    // also applies here; 5/4 keeps the wait at or above what was asked.
                    ctx.getLastException() instanceof NotifyException n
                            && n.retryAfter().isPresent()
                        ? min(n.retryAfter().get().multipliedBy(5).dividedBy(4), MAX_RETRY_AFTER)
                        : Duration.ofMillis(-1))
            .withMaxRetries(-1)
            .onRetry(e -> retries.inc())
            .build();
  }

  String name() {
    return notifier.name();
  }

  boolean expires() {
    return notifier.expires();
  }

  /**
   * Queues a transition ({@code resend} false) or a re-send of a firing alert; never blocks. A
   * transition replaces whatever waits for the same dedup key; a re-send only fills a gap.
   */
  void offer(Alert alert, boolean resend) {
    lock.lock();
    try {
      String key = alert.dedupKey();
      if (alert.status() == Alert.Status.RELEASED) {
        // Replaces what waited for the key, whatever the bound: nothing of it goes out any more.
        pending.remove(key);
        pending.put(key, new Outgoing(alert, false));
        work.signal();
        return;
      }
      if (resend && pending.containsKey(key)) return;
      Outgoing before = resend ? null : pending.remove(key);
      if (before == null && pending.size() >= maxPending) {
        drop(alert);
        return;
      }
      pending.put(key, new Outgoing(alert, resend));
      work.signal();
    } finally {
      lock.unlock();
    }
  }

  private void drop(Alert alert) {
    dropped.inc();
    totalDropped.inc();
    dropsSinceLog++;
    long now = System.nanoTime();
    // The first drop is logged at once, then at most one line per 10 s with the count since.
    if (!droppedBefore || now - lastDropLog >= DROP_LOG_EVERY_NANOS) {
      droppedBefore = true;
      log.warn(
          "notify {}: {} alert(s) dropped, {} incidents already waiting (the most it keeps);"
              + " latest: {} host={} key={}",
          notifier.name(),
          dropsSinceLog,
          maxPending,
          alert.status(),
          alert.host(),
          alert.dedupKey());
      dropsSinceLog = 0;
      lastDropLog = now;
    }
  }

  int pendingCount() {
    lock.lock();
    try {
      return pending.size();
    } finally {
      lock.unlock();
    }
  }

  void start() {
    running = true;
    thread = Thread.ofPlatform().daemon().name("notify-" + notifier.name()).start(this::run);
  }

  /** Stops the thread (interrupting a send or a backoff wait) and closes the notifier. */
  void stop() throws InterruptedException {
    running = false;
    if (thread != null) {
      thread.interrupt();
      thread.join(TimeUnit.SECONDS.toMillis(10));
      if (thread.isAlive()) log.warn("notify {}: sender thread did not stop", notifier.name());
    }
    int left = pendingCount();
    if (left > 0 || dropped.getCount() > 0)
      log.warn(
          "notify {}: stopped with {} alert(s) not delivered, {} dropped since start",
          notifier.name(),
          left,
          dropped.getCount());
    notifier.close();
  }

  private void run() {
    long resendNanos = policy.resendInterval().toNanos();
    long nextResend = System.nanoTime() + resendNanos;
    try {
      while (running) {
        boolean resendNow;
        lock.lock();
        try {
          while (running && pending.isEmpty() && !resendDue) {
            if (!policy.resends()) work.await();
            else if (nextResend - System.nanoTime() <= 0) break;
            else work.awaitNanos(nextResend - System.nanoTime());
          }
          resendNow = resendDue || (policy.resends() && nextResend - System.nanoTime() <= 0);
          resendDue = false;
        } finally {
          lock.unlock();
        }
        if (!running) break;
        if (resendNow) {
          nextResend = System.nanoTime() + resendNanos;
          // Outside our lock: the dispatcher's book is locked while it offers to us.
          for (Alert a : firing.get()) offer(a, true);
        }
        Failsafe.with(retryPolicy).run(this::sendPending);
      }
    } catch (InterruptedException e) {
      // stop(): fall through
    } catch (FailsafeException e) {
      // Retryable failures are retried for ever and rejections handled in sendPending: what
      // escapes is the interruption of stop().
      if (running) log.error("notify {}: sender stopped unexpectedly", notifier.name(), e);
    }
  }

  /** Sends batch after batch until nothing waits; a retryable failure escapes to the retries. */
  private void sendPending() throws NotifyException, InterruptedException {
    while (running) {
      List<Outgoing> batch = forgetReleased(nextBatch());
      if (batch == null) return;
      if (batch.isEmpty()) continue;
      List<Alert> alerts = new ArrayList<>(batch.size());
      for (Outgoing o : batch) alerts.add(o.alert());
      try (Timer.Context ignored = latency.time()) {
        notifier.send(alerts);
      } catch (RuntimeException bug) {
        // A notifier that throws anything else would do so again: drop the batch, say why.
        log.error("notify {}: cannot send", notifier.name(), bug);
        settle(batch);
        rejected(
            batch,
            new NotifyException(NotifyException.Kind.REJECTED, 0, null, bug.toString(), bug));
        continue;
      } catch (NotifyException e) {
        if (e.retryable()) {
          failedAttempt(e, batch.size());
          throw e;
        }
        settle(batch);
        rejected(batch, e);
        continue;
      }
      settle(batch);
      delivered(batch);
    }
  }

  /**
   * Lets the notifier forget the released alerts of a batch (they are not sent) and returns the
   * rest; null when the batch was empty.
   */
  private List<Outgoing> forgetReleased(List<Outgoing> batch) {
    if (batch.isEmpty()) return null;
    List<Outgoing> send = new ArrayList<>(batch.size());
    List<Outgoing> released = new ArrayList<>();
    for (Outgoing o : batch) {
      (o.alert().status() == Alert.Status.RELEASED ? released : send).add(o);
    }
    for (Outgoing o : released) {
      notifier.released(o.alert());
      log.debug(
          "notify {}: released host={} key={}: no longer re-sent",
          notifier.name(),
          o.alert().host(),
          o.alert().dedupKey());
    }
    if (!released.isEmpty()) settle(released);
    return send;
  }

  private List<Outgoing> nextBatch() {
    lock.lock();
    try {
      List<Outgoing> batch = new ArrayList<>(Math.min(pending.size(), notifier.maxBatchSize()));
      Iterator<Outgoing> it = pending.values().iterator();
      while (it.hasNext() && batch.size() < notifier.maxBatchSize()) batch.add(it.next());
      return batch;
    } finally {
      lock.unlock();
    }
  }

  /** Removes what was sent, unless a newer transition for the same key came in meanwhile. */
  private void settle(List<Outgoing> batch) {
    lock.lock();
    try {
      for (Outgoing o : batch) pending.remove(o.alert().dedupKey(), o);
    } finally {
      lock.unlock();
    }
  }

  private void failedAttempt(NotifyException e, int alerts) {
    failed.inc();
    failedAttempts++;
    lastFailure = e.getMessage();
    if (failingSince == null) {
      failingSince = clock.instant();
      log.warn(
          "notify {}: failing, retrying with backoff ({} alert(s) waiting): {}",
          notifier.name(),
          Math.max(alerts, pendingCount()),
          e.getMessage());
    }
  }

  private void delivered(List<Outgoing> batch) {
    Instant now = clock.instant();
    lastDelivered = now;
    sent.mark(batch.size());
    if (failingSince != null) {
      log.info(
          "notify {}: recovered after {} failed attempt(s) over {} s; re-sending firing alerts",
          notifier.name(),
          failedAttempts,
          Duration.between(failingSince, now).toSeconds());
      failingSince = null;
      failedAttempts = 0;
      lastFailure = null;
      // The receiver may have restarted without our alerts: tell it everything that fires.
      lock.lock();
      try {
        resendDue = policy.resends();
      } finally {
        lock.unlock();
      }
    }
    for (Outgoing o : batch) {
      Alert a = o.alert();
      if (o.resend()) {
        log.debug(
            "notify {}: re-sent firing host={} key={}", notifier.name(), a.host(), a.dedupKey());
      } else {
        log.info(
            "notify {}: sent {} {} host={} severity={} key={}",
            notifier.name(),
            a.status() == Alert.Status.FIRING ? "firing" : "resolved",
            a.labels().get("alertname"),
            a.host(),
            a.labels().get("severity"),
            a.dedupKey());
      }
    }
  }

  private void rejected(List<Outgoing> batch, NotifyException e) {
    rejected.inc(batch.size());
    lastRejected = clock.instant();
    lastRejection = e.getMessage();
    Alert first = batch.getFirst().alert();
    log.error(
        "notify {}: {} alert(s) rejected, not retried (check this notifier's url, credentials,"
            + " routing key): {}; first: {} host={} key={}",
        notifier.name(),
        batch.size(),
        e.getMessage(),
        first.status(),
        first.host(),
        first.dedupKey());
  }

  HealthCheck healthCheck() {
    return new HealthCheck() {
      @Override
      protected Result check() {
        Instant since = failingSince;
        if (since != null) {
          return Result.unhealthy(
              "failing since %s (%d attempts), %d alert(s) waiting: %s",
              since, failedAttempts, pendingCount(), lastFailure);
        }
        Instant rejectedAt = lastRejected;
        Instant deliveredAt = lastDelivered;
        if (rejectedAt != null && (deliveredAt == null || deliveredAt.isBefore(rejectedAt))) {
          return Result.unhealthy(
              "last request rejected at %s (%d alert(s) rejected so far): %s",
              rejectedAt, rejected.getCount(), lastRejection);
        }
        return Result.healthy(
            "%d alert(s) delivered, %d waiting, last delivery %s",
            sent.getCount(), pendingCount(), deliveredAt == null ? "never" : deliveredAt);
      }
    };
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** For tests: what waits, by dedup key. */
  Map<String, Outgoing> pendingSnapshot() {
    lock.lock();
    try {
      return new LinkedHashMap<>(pending);
    } finally {
      lock.unlock();
    }
  }
}
