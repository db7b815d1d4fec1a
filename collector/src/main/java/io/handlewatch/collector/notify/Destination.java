package io.handlewatch.collector.notify;

import java.util.Objects;

/** A notifier and how the dispatcher delivers to it: what one {@code notifiers:} entry builds. */
public record Destination(Notifier notifier, DeliveryPolicy policy) {
  public Destination {
    Objects.requireNonNull(notifier, "notifier");
    Objects.requireNonNull(policy, "policy");
  }
}
