package io.handlewatch.collector.notify;

import io.handlewatch.collector.detect.Alert;
import java.util.List;

/**
 * One destination pages go to (one Alertmanager, one webhook URL). It only speaks the wire
 * protocol: when to send, re-send and retry is the {@link AlertDispatcher}'s business. Each
 * instance is driven by one dispatcher thread, so implementations may keep per-destination state
 * without locking.
 */
public interface Notifier extends AutoCloseable {

  /** How this destination appears in logs, metric names and health checks. */
  String name();

  /** The most alerts one {@link #send} may carry. */
  int maxBatchSize();

  /**
   * Delivers the alerts (transitions and re-sends of firing ones) or throws. At-least-once: on a
   * retryable failure the same alerts may be sent again, which every receiver dedups (Alertmanager
   * by label set, PagerDuty by dedup_key).
   *
   * @throws NotifyException classified: {@link NotifyException#retryable()} (unreachable, 429, 5xx)
   *     or a rejection that retrying cannot fix (another 4xx: configuration or payload)
   * @throws InterruptedException when the dispatcher is stopping
   */
  void send(List<Alert> alerts) throws NotifyException, InterruptedException;

  /**
   * The collector no longer speaks for this incident ({@link Alert.Status#RELEASED}: its host
   * stopped reporting here, perhaps to another collector): forget what is kept about it, tell the
   * receiver nothing. Never throws; no I/O.
   */
  default void released(Alert alert) {}

  /**
   * Whether the receiver ends a firing alert by itself unless it is sent again (Alertmanager, at
   * its endsAt). Such a receiver also gets the alerts the dispatcher keeps alive for hosts whose
   * history is being read after a restart; one that does not (a webhook) never does.
   */
  default boolean expires() {
    return false;
  }

  @Override
  void close();
}
