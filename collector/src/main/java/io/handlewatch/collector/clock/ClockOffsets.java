package io.handlewatch.collector.clock;

import com.google.protobuf.Timestamp;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clock stage of ingest, between validation and the store: measures each host's clock offset
 * from its reports' send times, moves every sample onto the collector's timeline (sample time minus
 * the offset, or receive time minus the sample's age), keeps the agent's own time in {@code
 * agent_time}, and refuses only the times that cannot be right: a sample older than it was sent, an
 * offset beyond {@code ingest.limits.maxClockOffset} (years away), or a sample older than {@code
 * ingest.limits.maxAge} once placed. Refusals and clock steps are kept per host for the API.
 * docs/clock.md says how, and what it cannot see.
 */
public final class ClockOffsets implements ClockView {
  private static final Logger log = LoggerFactory.getLogger(ClockOffsets.class);

  /**
   * Offsets within this are measured and shown but not applied: they are within what one-way
   * latency and the agent's timer already blur, and leaving the time alone keeps a well-synced
   * host's points exactly where its agent put them.
   */
  static final long APPLY_ABOVE_MS = 1_000;

  /** Where a report goes: its corrected copy, or why it is refused. */
  public record Placed(HostReport report, String refusedField, String refusal) {
    public boolean refused() {
      return refusal != null;
    }
  }

  private static final class HostClock {
    final OffsetEstimate estimate = new OffsetEstimate();
    final RecentPlacements placements = new RecentPlacements();
    Long appliedMs;
    long refusals;
    String lastRefusal;
    Instant lastRefusalAt;
    Long lastStepMs;
    Instant lastStepAt;
  }

  private final Clock clock;
  private final Duration maxOffset;
  private final Duration maxAge;
  private final ConcurrentHashMap<String, HostClock> hosts = new ConcurrentHashMap<>();

  /**
   * @param maxOffset an offset beyond this cannot be right (a clock reset to 1970, a typo in a
   *     year): such reports are refused
   * @param maxAge a sample older than this once placed is refused (retention)
   */
  public ClockOffsets(Clock clock, Duration maxOffset, Duration maxAge) {
    this.clock = clock;
    this.maxOffset = maxOffset;
    this.maxAge = maxAge;
  }

  /**
   * Measures the report's host's offset and places the (validated) report on the collector's
   * timeline.
   */
  public Placed place(HostReport report) {
    Instant received = clock.instant();
    String host = ReportPoints.hostOf(report);
    HostClock hc = hosts.computeIfAbsent(host, h -> new HostClock());
    var sample = report.getSample();
    Instant agentTime = instant(sample.getTime());
    synchronized (hc) {
      Long ageNanos = null;
      if (report.hasSampleAge()) {
        var a = report.getSampleAge();
        if (a.getSeconds() < 0 || a.getNanos() < 0 || a.getNanos() > 999_999_999) {
          return refuse(
              hc,
              received,
              host,
              "sample_age",
              "a negative or malformed sample age ("
                  + a.getSeconds()
                  + " s, "
                  + a.getNanos()
                  + " ns): the sample would have been taken after it was sent");
        }
        ageNanos = a.getSeconds() * 1_000_000_000L + a.getNanos();
      }
      if (!report.hasSentTime()) return unmeasured(hc, host, received, report, agentTime);
      Instant agentNow = instant(report.getSentTime());
      long measuredMs = Duration.between(received, agentNow).toMillis();
      if (Math.abs(measuredMs) > maxOffset.toMillis()) {
        return refuse(hc, received, host, "sent_time", tooFar(agentNow, received, measuredMs));
      }
      boolean first = !hc.estimate.known();
      OffsetEstimate.Observed seen =
          hc.estimate.observe(
              received.toEpochMilli(),
              measuredMs,
              sample.getHost().getBootId(),
              wallMinusMonotonicMs(sample, agentNow, ageNanos));
      long applied = seen.appliedMs();
      Instant placed = placed(applied, agentTime, agentNow, ageNanos);
      long seq = report.getSeq();
      if (seen.ifDelayedMs() != null) {
        // Held up in transit, or the first report after a step back? Placed by the estimate, a
        // held-up report lands right; the first after a step back lands before the samples
        // taken ahead of it, which tells it apart.
        Instant ifDelayed = placed(seen.ifDelayedMs(), agentTime, agentNow, ageNanos);
        long ms = ifDelayed.toEpochMilli();
        if (hc.placements.inOrder(seq, ms) == ms) {
          placed = ifDelayed;
          applied = seen.ifDelayedMs();
        }
      }
      // In seq order whatever the estimate did since the previous report (it settles as faster
      // reports come in, a step moves it, a replay comes after later reports): a report sent
      // again goes where it went the first time; a new one at the nearest millisecond after the
      // reports before it and before those after it.
      RecentPlacements.Place again = hc.placements.of(seq);
      if (again != null) {
        placed = Instant.ofEpochMilli(again.timeMs());
        applied = again.offsetMs();
      } else {
        long wanted = placed.toEpochMilli();
        long ordered = hc.placements.inOrder(seq, wanted);
        if (ordered != wanted) placed = Instant.ofEpochMilli(ordered);
      }
      if (placed.isBefore(received.minus(maxAge))) {
        return refuse(hc, received, host, "sample.time", tooOld(placed, agentTime));
      }
      if (again == null) hc.placements.add(seq, placed.toEpochMilli(), applied);
      if (first || seen.stepMs() != null) {
        if (seen.stepMs() != null) {
          hc.lastStepMs = seen.stepMs();
          hc.lastStepAt = received;
        }
        log.info(
            "{}: host={} offset_ms={} step_ms={} seq={} (agent clock {} the collector)",
            first ? "clock offset measured" : "clock step",
            host,
            applied,
            seen.stepMs() == null ? 0 : seen.stepMs(),
            seq,
            ClockText.offset(applied));
      }
      hc.appliedMs = applied;
      var s = sample.toBuilder().setTime(timestamp(placed)).setAgentTime(sample.getTime());
      s.setClockOffsetMs(applied);
      if (seen.stepMs() != null) s.setClockStepMs(seen.stepMs());
      return new Placed(report.toBuilder().setSample(s).build(), null, null);
    }
  }

  /**
   * The sample's time on the collector's timeline with offset {@code applied}: its age before the
   * send time when the agent gave it (exact across steps of the host's clock in between), else its
   * own time; offsets under {@link #APPLY_ABOVE_MS} are not applied.
   */
  private static Instant placed(long applied, Instant agentTime, Instant agentNow, Long ageNanos) {
    if (Math.abs(applied) < APPLY_ABOVE_MS) return agentTime;
    if (ageNanos != null) return agentNow.minusNanos(ageNanos).minusMillis(applied);
    return agentTime.minusMillis(applied);
  }

  /**
   * The host's wall clock minus its CLOCK_MONOTONIC when the report was sent, which only a step of
   * the host's clock changes; null unless the sample carries its monotonic time and boot. For a
   * sample of an earlier boot the agent gave a wall-clock age, and this is that boot's difference
   * when it was taken: still comparable with that boot's other samples.
   */
  private static Long wallMinusMonotonicMs(HostSample sample, Instant agentNow, Long ageNanos) {
    if (ageNanos == null || !sample.hasMonotonicNanos() || !sample.getHost().hasBootId()) {
      return null;
    }
    long monoSent = sample.getMonotonicNanos() + ageNanos;
    long wallNanos = agentNow.getEpochSecond() * 1_000_000_000L + agentNow.getNano();
    return Math.floorDiv(wallNanos - monoSent, 1_000_000L);
  }

  /**
   * A report of an agent that predates send times: nothing tells whether it is live or replayed, so
   * it measures nothing and is stored at its own time, as before; only times that cannot be right
   * are refused.
   */
  private Placed unmeasured(
      HostClock hc, String host, Instant received, HostReport report, Instant agentTime) {
    long measuredMs = Duration.between(received, agentTime).toMillis();
    if (measuredMs > maxOffset.toMillis()) {
      return refuse(hc, received, host, "sample.time", tooFar(agentTime, received, measuredMs));
    }
    if (agentTime.isBefore(received.minus(maxAge))) {
      return refuse(hc, received, host, "sample.time", tooOld(agentTime, agentTime));
    }
    return new Placed(report, null, null);
  }

  private String tooFar(Instant agentNow, Instant received, long measuredMs) {
    return "the host's clock ("
        + agentNow
        + ") is "
        + ClockText.offset(measuredMs)
        + " the collector's ("
        + received
        + "), beyond ingest.limits.maxClockOffset ("
        + ClockText.duration(maxOffset.toMillis())
        + "): a time that cannot be right; fix the host's clock (NTP)";
  }

  private String tooOld(Instant placed, Instant agentTime) {
    return "sample taken at "
        + placed
        + " by the collector's clock ("
        + agentTime
        + " by the host's) is older than ingest.limits.maxAge ("
        + ClockText.duration(maxAge.toMillis())
        + ")";
  }

  private static Placed refuse(HostClock hc, Instant at, String host, String field, String why) {
    hc.refusals++;
    hc.lastRefusal = why;
    hc.lastRefusalAt = at;
    return new Placed(null, field, why);
  }

  @Override
  public Optional<HostClockState> of(String host) {
    HostClock hc = hosts.get(host);
    return hc == null ? Optional.empty() : Optional.of(state(host, hc));
  }

  @Override
  public List<HostClockState> all() {
    List<HostClockState> out = new ArrayList<>();
    hosts.forEach((h, hc) -> out.add(state(h, hc)));
    out.sort(java.util.Comparator.comparing(HostClockState::host));
    return out;
  }

  private static HostClockState state(String host, HostClock hc) {
    synchronized (hc) {
      return new HostClockState(
          host,
          hc.appliedMs,
          hc.refusals,
          hc.lastRefusal,
          hc.lastRefusalAt,
          hc.lastStepMs,
          hc.lastStepAt);
    }
  }

  private static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  private static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
