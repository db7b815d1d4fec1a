package io.handlewatch.collector.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.detect.Alert;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The dispatcher's own rules, with a scripted notifier standing in for the receiver. */
class AlertDispatcherTest {
  private static final Duration DEADLINE = Duration.ofSeconds(20);

  private final MetricRegistry metrics = new MetricRegistry();
  private AlertDispatcher dispatcher;

  /** Records what it is asked to send; fails or hangs as scripted. */
  static final class ScriptedNotifier implements Notifier {
    final List<Alert> sent = new ArrayList<>();
    final Deque<NotifyException> failures = new ArrayDeque<>();
    final CountDownLatch release;
    volatile boolean closed;

    ScriptedNotifier(boolean hang) {
      release = new CountDownLatch(hang ? 1 : 0);
    }

    @Override
    public String name() {
      return "scripted";
    }

    @Override
    public int maxBatchSize() {
      return 10;
    }

    @Override
    public void send(List<Alert> alerts) throws NotifyException, InterruptedException {
      release.await();
      NotifyException f;
      synchronized (this) {
        f = failures.poll();
        if (f == null) sent.addAll(alerts);
      }
      if (f != null) throw f;
    }

    synchronized List<Alert> sent() {
      return List.copyOf(sent);
    }

    synchronized void recover() {
      failures.clear();
    }

    synchronized void failNext(NotifyException... e) {
      failures.addAll(List.of(e));
    }

    synchronized long sentOf(Alert a, Alert.Status status) {
      return sent.stream()
          .filter(x -> x.dedupKey().equals(a.dedupKey()) && x.status() == status)
          .count();
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  private AlertDispatcher start(ScriptedNotifier n, Duration resend, int maxPending) {
    var policy = new DeliveryPolicy(resend, Duration.ofMillis(20), Duration.ofMillis(100));
    dispatcher =
        new AlertDispatcher(
            List.of(new Destination(n, policy)), metrics, Clock.systemUTC(), maxPending);
    dispatcher.start();
    return dispatcher;
  }

  @AfterEach
  void stop() throws Exception {
    if (dispatcher != null) dispatcher.stop();
  }

  private static boolean senderThreadAlive() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().equals("notify-scripted") && t.isAlive());
  }

  private long counter(String name) {
    return metrics.getCounters().get(name).getCount();
  }

  @Test
  void aHungNotifierNeverBlocksTheCallerAndWhatDoesNotFitIsCountedDropped() throws Exception {
    ScriptedNotifier hung = new ScriptedNotifier(true);
    AlertDispatcher d = start(hung, Duration.ZERO, 100);
    Thread caller =
        Thread.ofPlatform()
            .daemon()
            .start(
                () -> {
                  for (int pid = 0; pid < 10_000; pid++) d.accept(TestAlerts.firing("h", pid));
                });
    // Joined with a deadline: had accept() blocked on the hung send, this would time out.
    caller.join(DEADLINE.toMillis());
    assertThat(caller.isAlive()).as("caller blocked").isFalse();

    assertThat(d.pending("scripted")).hasSize(100);
    assertThat(counter("notify.scripted.dropped")).isEqualTo(9_900);
    assertThat(counter("notify.dropped")).isEqualTo(9_900);
    assertThat(d.activeAlerts()).hasSize(10_000); // the book keeps them all; re-sends fill in
    assertThat(hung.sent()).isEmpty();

    d.stop(); // interrupts the hung send
    dispatcher = null;
    assertThat(senderThreadAlive()).isFalse();
    assertThat(hung.closed).isTrue();
  }

  @Test
  void transitionsRacingResendsNeverDeadlock() throws Exception {
    ScriptedNotifier n = new ScriptedNotifier(false);
    AlertDispatcher d = start(n, Duration.ofMillis(1), 10_000);
    Thread caller =
        Thread.ofPlatform()
            .daemon()
            .start(
                () -> {
                  for (int i = 0; i < 5_000; i++) {
                    Alert a = TestAlerts.firing("h", i % 200);
                    d.accept(i % 3 == 0 ? TestAlerts.resolved(a) : a);
                  }
                });
    caller.join(DEADLINE.toMillis());
    assertThat(caller.isAlive()).as("caller blocked").isFalse();
    Alert last = TestAlerts.firing("h", 100_000);
    d.accept(last);
    await().atMost(DEADLINE).until(() -> n.sent().contains(last)); // the sender still runs
  }

  @Test
  void firingAlertsAreResentUntilResolvedAndNotAfter() throws Exception {
    ScriptedNotifier n = new ScriptedNotifier(false);
    AlertDispatcher d = start(n, Duration.ofMillis(50), 100);
    Alert a = TestAlerts.firing("db-17", 1);
    Alert b = TestAlerts.firing("db-17", 2);
    d.accept(a);
    await().atMost(DEADLINE).until(() -> n.sentOf(a, Alert.Status.FIRING) >= 3);
    d.accept(TestAlerts.resolved(a));
    await().atMost(DEADLINE).until(() -> n.sentOf(a, Alert.Status.RESOLVED) == 1);
    long firingSends = n.sentOf(a, Alert.Status.FIRING);
    d.accept(b);
    await().atMost(DEADLINE).until(() -> n.sentOf(b, Alert.Status.FIRING) >= 3);
    assertThat(n.sentOf(a, Alert.Status.FIRING)).isEqualTo(firingSends);
    assertThat(n.sentOf(a, Alert.Status.RESOLVED)).isEqualTo(1);
    assertThat(d.activeAlerts()).containsExactly(b);
    assertThat(metrics.getGauges().get("notify.active").getValue()).isEqualTo(1);
  }

  @Test
  void aReleasedAlertStopsBeingResentAndNothingIsSentForIt() throws Exception {
    ScriptedNotifier n = new ScriptedNotifier(false);
    AlertDispatcher d = start(n, Duration.ofMillis(50), 100);
    Alert a = TestAlerts.firing("db-17", 1);
    Alert b = TestAlerts.firing("db-18", 2);
    d.accept(a);
    d.accept(b);
    await().atMost(DEADLINE).until(() -> n.sentOf(a, Alert.Status.FIRING) >= 2);
    d.accept(TestAlerts.released(a));
    assertThat(d.activeAlerts()).containsExactly(b);
    long firingSends = n.sentOf(a, Alert.Status.FIRING);
    // b goes on being re-sent meanwhile: a would have been too, in the same batches.
    long bSends = n.sentOf(b, Alert.Status.FIRING);
    await().atMost(DEADLINE).until(() -> n.sentOf(b, Alert.Status.FIRING) >= bSends + 3);
    assertThat(n.sentOf(a, Alert.Status.FIRING)).isLessThanOrEqualTo(firingSends + 1);
    assertThat(n.sentOf(a, Alert.Status.RESOLVED)).isZero();
    assertThat(n.sent()).noneMatch(x -> x.status() == Alert.Status.RELEASED);
  }

  @Test
  void aReleaseDropsTheTransitionWaitingForItsKey() throws Exception {
    ScriptedNotifier n = new ScriptedNotifier(false);
    n.failNext(
        new NotifyException(NotifyException.Kind.UNAVAILABLE, 0, null, "down", null),
        new NotifyException(NotifyException.Kind.UNAVAILABLE, 0, null, "down", null));
    AlertDispatcher d = start(n, Duration.ZERO, 100);
    Alert a = TestAlerts.firing("db-17", 1);
    d.accept(a);
    d.accept(TestAlerts.released(a));
    Alert b = TestAlerts.firing("db-18", 2);
    d.accept(b);
    await().atMost(DEADLINE).until(() -> n.sentOf(b, Alert.Status.FIRING) == 1);
    assertThat(n.sent()).containsExactly(b);
    assertThat(d.pending("scripted")).isEmpty();
  }

  @Test
  void retryableFailuresAreRetriedAndATransitionWaitingMeanwhileReplacesTheOlderOne()
      throws Exception {
    ScriptedNotifier n = new ScriptedNotifier(false);
    for (int i = 0; i < 10_000; i++)
      n.failNext(NotifyException.unreachable("connection refused", null));
    AlertDispatcher d = start(n, Duration.ZERO, 100);
    Alert a = TestAlerts.firing("db-17", 1);
    d.accept(a);
    await().atMost(DEADLINE).until(() -> counter("notify.scripted.failed") >= 3);
    d.accept(TestAlerts.resolved(a)); // during the outage
    n.recover();
    await().atMost(DEADLINE).until(() -> !n.sent().isEmpty());

    // The incident ended before the receiver could hear of it: only its resolution goes out.
    assertThat(n.sent()).extracting(Alert::status).containsExactly(Alert.Status.RESOLVED);
    assertThat(counter("notify.scripted.failed")).isGreaterThanOrEqualTo(3);
    assertThat(counter("notify.scripted.retries")).isEqualTo(counter("notify.scripted.failed"));
    assertThat(metrics.meter("notify.scripted.sent").getCount()).isEqualTo(1);
    await()
        .atMost(DEADLINE)
        .until(() -> d.healthChecks().get("notify-scripted").execute().isHealthy());
  }

  @Test
  void aRejectionIsCountedNotRetriedAndTheNextSuccessClearsTheHealthCheck() throws Exception {
    ScriptedNotifier n = new ScriptedNotifier(false);
    n.failNext(NotifyException.forStatus(401, null, "http://pager answered HTTP 401: bad token"));
    AlertDispatcher d = start(n, Duration.ZERO, 100);
    d.accept(TestAlerts.firing("db-17", 1));
    await().atMost(DEADLINE).until(() -> counter("notify.scripted.rejected") == 1);
    var h = d.healthChecks().get("notify-scripted").execute();
    assertThat(h.isHealthy()).isFalse();
    assertThat(h.getMessage()).contains("HTTP 401: bad token");
    assertThat(counter("notify.scripted.retries")).isZero();
    assertThat(n.sent()).isEmpty();

    Alert next = TestAlerts.firing("db-17", 2);
    d.accept(next);
    await().atMost(DEADLINE).until(() -> n.sent().contains(next));
    assertThat(d.healthChecks().get("notify-scripted").execute().isHealthy()).isTrue();
    assertThat(counter("notify.scripted.rejected")).isEqualTo(1);
  }

  @Test
  void anUpdatedFiringAlertIsSentButAnUnchangedOneIsNot() throws Exception {
    ScriptedNotifier n = new ScriptedNotifier(false);
    AlertDispatcher d = start(n, Duration.ZERO, 100);
    Alert warning = TestAlerts.firing("db-17", 1, "warning");
    d.accept(warning);
    d.accept(warning);
    Alert critical = TestAlerts.withLabel(warning, "severity", "critical");
    d.accept(critical);
    await().atMost(DEADLINE).until(() -> n.sent().contains(critical));
    assertThat(n.sent()).doesNotHaveDuplicates();
    assertThat(counter("notify.duplicates")).isEqualTo(1);
    assertThat(d.activeAlerts()).containsExactly(critical);
  }

  @Test
  void stoppingInterruptsABackoffWait() throws Exception {
    ScriptedNotifier n = new ScriptedNotifier(false);
    for (int i = 0; i < 1000; i++) n.failNext(NotifyException.unreachable("down", null));
    var policy = new DeliveryPolicy(Duration.ZERO, Duration.ofSeconds(30), Duration.ofMinutes(5));
    dispatcher =
        new AlertDispatcher(List.of(new Destination(n, policy)), metrics, Clock.systemUTC(), 100);
    dispatcher.start();
    dispatcher.accept(TestAlerts.firing("db-17", 1));
    await().atMost(DEADLINE).until(() -> counter("notify.scripted.failed") == 1);
    dispatcher.stop(); // the next attempt is 30 s away
    dispatcher = null;
    assertThat(senderThreadAlive()).isFalse();
    assertThat(n.closed).isTrue();
  }

  @Test
  void withoutNotifiersTheBookIsStillKept() {
    dispatcher = new AlertDispatcher(List.of(), metrics, Clock.systemUTC(), 100);
    dispatcher.start();
    Alert a = TestAlerts.firing("db-17", 1);
    dispatcher.accept(a);
    assertThat(dispatcher.activeAlerts()).containsExactly(a);
    assertThat(dispatcher.healthChecks()).isEmpty();
    dispatcher.accept(TestAlerts.resolved(a));
    assertThat(dispatcher.activeAlerts()).isEmpty();
  }
}
