package io.handlewatch.agent.spool;

import io.handlewatch.proto.v1.HostReport;
import java.util.ArrayDeque;
import java.util.Optional;

/**
 * A {@link ReportQueue} in memory, bounded by report count and bytes. It rides out a collector
 * restart or a network blip; what it holds is lost if the agent itself stops.
 */
public final class MemoryReportQueue implements ReportQueue {
  private final int maxReports;
  private final long maxBytes;
  private final ArrayDeque<HostReport> reports = new ArrayDeque<>();
  private long bytes;
  private long dropped;

  public MemoryReportQueue(int maxReports, long maxBytes) {
    if (maxReports < 1) throw new IllegalArgumentException("queue must hold at least one report");
    if (maxBytes < 1) throw new IllegalArgumentException("queue must hold at least one byte");
    this.maxReports = maxReports;
    this.maxBytes = maxBytes;
  }

  @Override
  public synchronized void append(HostReport report) {
    HostReport last = reports.peekLast();
    if (last != null && report.getSeq() <= last.getSeq()) {
      throw new IllegalArgumentException(
          "seq " + report.getSeq() + " does not follow the queued " + last.getSeq());
    }
    int size = report.getSerializedSize();
    // The newest report always fits, even alone over the byte bound: it is the one to keep.
    while (!reports.isEmpty() && (reports.size() >= maxReports || bytes + size > maxBytes)) {
      bytes -= reports.pollFirst().getSerializedSize();
      dropped++;
    }
    reports.addLast(report);
    bytes += size;
  }

  @Override
  public synchronized Optional<HostReport> next(long afterSeq) {
    for (HostReport r : reports) {
      if (r.getSeq() > afterSeq) return Optional.of(r);
    }
    return Optional.empty();
  }

  @Override
  public synchronized void ackUpTo(long seq) {
    while (!reports.isEmpty() && reports.peekFirst().getSeq() <= seq) {
      bytes -= reports.pollFirst().getSerializedSize();
    }
  }

  @Override
  public synchronized int size() {
    return reports.size();
  }

  @Override
  public synchronized long bytes() {
    return bytes;
  }

  @Override
  public synchronized long dropped() {
    return dropped;
  }
}
