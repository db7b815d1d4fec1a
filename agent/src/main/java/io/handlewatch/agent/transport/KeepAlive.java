package io.handlewatch.agent.transport;

import java.time.Duration;

/**
 * How the agent notices a dead connection to its collector: after {@code time} without a byte from
 * the collector it sends an HTTP/2 ping, and gives the connection up when no answer comes within
 * {@code timeout}. A cut cable or a firewall that drops packets is otherwise noticed only when TCP
 * gives up retransmitting, some fifteen minutes later; meanwhile reports wait in the spool.
 *
 * <p>gRPC sends pings no more often than every 10 s, whatever is asked, and the collector ends a
 * connection that pings more often than its {@code ingest.permitKeepAliveTime}.
 */
public record KeepAlive(Duration time, Duration timeout) {
  /** The floor gRPC applies to the ping interval. */
  public static final Duration MIN_TIME = Duration.ofSeconds(10);

  public static final KeepAlive DEFAULT =
      new KeepAlive(Duration.ofSeconds(30), Duration.ofSeconds(10));

  public KeepAlive {
    if (time.compareTo(MIN_TIME) < 0) {
      throw new IllegalArgumentException(
          "keepalive time must be at least " + MIN_TIME.toSeconds() + "s, got " + time);
    }
    if (timeout.toMillis() < 100) {
      throw new IllegalArgumentException(
          "keepalive timeout must be at least 100ms, got " + timeout);
    }
  }
}
