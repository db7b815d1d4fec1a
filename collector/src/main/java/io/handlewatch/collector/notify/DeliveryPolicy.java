package io.handlewatch.collector.notify;

import java.time.Duration;
import java.util.Objects;

/**
 * How the dispatcher delivers to one notifier.
 *
 * @param resendInterval how often every still-firing alert is sent again; {@link Duration#ZERO}
 *     sends each transition once
 * @param retryInitialDelay the first wait after a retryable failure; it doubles (with jitter) on
 *     each further failure
 * @param retryMaxDelay the longest wait between two attempts; attempts go on until the receiver
 *     answers, new transitions joining the pending ones meanwhile
 */
public record DeliveryPolicy(
    Duration resendInterval, Duration retryInitialDelay, Duration retryMaxDelay) {
  public DeliveryPolicy {
    Objects.requireNonNull(resendInterval, "resendInterval");
    if (resendInterval.isNegative()) throw new IllegalArgumentException("negative resendInterval");
    if (retryInitialDelay.isNegative() || retryInitialDelay.isZero())
      throw new IllegalArgumentException("retryInitialDelay must be positive");
    if (retryMaxDelay.compareTo(retryInitialDelay) <= 0)
      throw new IllegalArgumentException("retryMaxDelay must exceed retryInitialDelay");
  }

  public boolean resends() {
    return !resendInterval.isZero();
  }
}
