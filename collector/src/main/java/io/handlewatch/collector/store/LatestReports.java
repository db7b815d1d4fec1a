package io.handlewatch.collector.store;

import com.google.protobuf.InvalidProtocolBufferException;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Instant;
import java.util.ArrayList;
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
  private record Entry(Instant time, byte[] report, List<Sysctl> sysctls) {}

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
          if (previous == null) {
            next = new Entry(time, report.toByteArray(), sent);
          } else if (time.isBefore(previous.time)) {
            // A late replay: keep the newer report, but take its sysctls if we had none.
            if (!previous.sysctls.isEmpty() || sent.isEmpty()) return previous;
            next = new Entry(previous.time, previous.report, sent);
          } else {
            next = new Entry(time, report.toByteArray(), sent.isEmpty() ? previous.sysctls : sent);
          }
          bytes.addAndGet(next.report.length - (previous == null ? 0 : previous.report.length));
          return next;
        });
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
