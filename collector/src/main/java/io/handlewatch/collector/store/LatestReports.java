package io.handlewatch.collector.store;

import com.google.protobuf.InvalidProtocolBufferException;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The newest stored report per host, kept in memory by every store for the API's "latest" views.
 * Agents send sysctls only when they change (report.proto), so a report without sysctls inherits
 * the host's last known ones here: the latest view always shows them. An older report (a replay
 * after a reconnect) never replaces a newer one.
 *
 * <p>Reports are kept serialized (a parsed sample is several times larger than its 1–3 KB of
 * protobuf), so 50,000 hosts cost tens of MiB, not hundreds.
 */
public final class LatestReports {
  /**
   * A host's newest report, serialized, and the sysctls it last sent (shared with the report they
   * came in, not copied): merged only when read, so a write never parses a stored report.
   */
  private record Entry(Instant time, long seq, byte[] report, List<Sysctl> sysctls, long[] gaps) {}

  /** How many recent gaps between a host's reports its interval is the median of. */
  private static final int GAPS_KEPT = 5;

  // ConcurrentHashMap.compute runs its function exactly once, so the byte count stays exact.
  private final ConcurrentHashMap<String, Entry> byHost = new ConcurrentHashMap<>();
  private final AtomicLong bytes = new AtomicLong();

  /** Records a stored report. */
  public void update(HostReport report) {
    String host = ReportPoints.hostOf(report);
    Instant time = ReportPoints.timeOf(report);
    List<Sysctl> sent = report.getSample().getSysctlsList();
    byHost.compute(
        host,
        (h, previous) -> {
          Entry next;
          long seq = report.getSeq();
          if (previous == null) {
            next = new Entry(time, seq, report.toByteArray(), sent, new long[0]);
          } else if (time.isBefore(previous.time)) {
            // A late replay: keep the newer report, but take its sysctls if we had none.
            if (!previous.sysctls.isEmpty() || sent.isEmpty()) return previous;
            next = new Entry(previous.time, previous.seq, previous.report, sent, previous.gaps);
          } else {
            next =
                new Entry(
                    time,
                    seq,
                    report.toByteArray(),
                    sent.isEmpty() ? previous.sysctls : sent,
                    withGap(previous, time, seq));
          }
          bytes.addAndGet(next.report.length - (previous == null ? 0 : previous.report.length));
          return next;
        });
  }

  /**
   * The previous gaps plus this one. A gap spanning several sequence numbers (reports the agent
   * dropped, or sampled while it was cut off) counts per report, so it measures the interval.
   */
  private static long[] withGap(Entry previous, Instant time, long seq) {
    long gap = time.toEpochMilli() - previous.time.toEpochMilli();
    if (gap <= 0) return previous.gaps; // the same report again
    if (seq > previous.seq) gap /= Math.max(1, seq - previous.seq);
    long[] g = previous.gaps;
    long[] next = new long[Math.min(GAPS_KEPT, g.length + 1)];
    System.arraycopy(g, g.length - (next.length - 1), next, 0, next.length - 1);
    next[next.length - 1] = gap;
    return next;
  }

  /**
   * The host's report interval: the median of its last few gaps between reports, so one long
   * silence (an agent restart) or one burst (a replay) does not move it. Empty before the second
   * report.
   */
  public Optional<Duration> interval(String host) {
    Entry e = byHost.get(host);
    if (e == null || e.gaps.length == 0) return Optional.empty();
    long[] sorted = e.gaps.clone();
    Arrays.sort(sorted);
    return Optional.of(Duration.ofMillis(sorted[sorted.length / 2]));
  }

  private static HostReport parse(Entry e) {
    try {
      HostReport r = HostReport.parseFrom(e.report);
      if (r.getSample().getSysctlsCount() > 0 || e.sysctls.isEmpty()) return r;
      return r.toBuilder().setSample(r.getSample().toBuilder().addAllSysctls(e.sysctls)).build();
    } catch (InvalidProtocolBufferException ex) {
      throw new IllegalStateException("latest report kept in memory does not parse", ex);
    }
  }

  public Optional<HostReport> get(String host) {
    Entry e = byHost.get(host);
    return e == null ? Optional.empty() : Optional.of(parse(e));
  }

  /** Every host's latest report, in host-name order. */
  public List<HostReport> all() {
    List<Map.Entry<String, Entry>> entries = new ArrayList<>(byHost.entrySet());
    entries.sort(Map.Entry.comparingByKey());
    List<HostReport> out = new ArrayList<>(entries.size());
    for (Map.Entry<String, Entry> e : entries) out.add(parse(e.getValue()));
    return out;
  }

  public int hosts() {
    return byHost.size();
  }

  /** Bytes of serialized reports held (for the memory store's accounting). */
  public long bytes() {
    return bytes.get();
  }
}
