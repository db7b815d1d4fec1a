package io.handlewatch.agent.sample;

import com.google.protobuf.Timestamp;
import java.time.Instant;

final class Times {
  private Times() {}

  static Timestamp toProto(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
