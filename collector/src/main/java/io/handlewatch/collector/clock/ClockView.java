package io.handlewatch.collector.clock;

import java.util.List;
import java.util.Optional;

/** The read side of {@link ClockOffsets}, for the API. */
public interface ClockView {
  /** What this collector knows of a host's clock; empty for a host it has had no report from. */
  Optional<HostClockState> of(String host);

  /** Every host this collector has had a report from, refused ones included, in host-name order. */
  List<HostClockState> all();

  /** A view that knows nothing (replay, tests without ingest). */
  ClockView NONE =
      new ClockView() {
        @Override
        public Optional<HostClockState> of(String host) {
          return Optional.empty();
        }

        @Override
        public List<HostClockState> all() {
          return List.of();
        }
      };
}
