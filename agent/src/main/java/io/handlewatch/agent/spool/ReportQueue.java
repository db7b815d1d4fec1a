package io.handlewatch.agent.spool;

import io.handlewatch.proto.v1.HostReport;
import java.util.Optional;

/**
 * The reports taken and not yet acknowledged by the collector, oldest first. Bounded: when full,
 * the oldest reports go first and are counted, and the count travels in later reports ({@code
 * health.dropped_reports}) so loss is never silent. The in-memory queue is one implementation; the
 * disk spool ({@link DiskSpool}), which survives restarts, is the one the agent runs with.
 * Implementations are thread-safe: the sampler appends while the sender reads and acks.
 */
public interface ReportQueue {

  /** Adds a report whose seq is higher than every queued one; may evict the oldest to fit. */
  void append(HostReport report);

  /** The oldest queued report with a seq above {@code afterSeq}, if any. */
  Optional<HostReport> next(long afterSeq);

  /** Forgets every report with seq at or below {@code seq}: the collector has it. */
  void ackUpTo(long seq);

  /** Reports queued now. */
  int size();

  /** Bytes of the queued reports (serialized size). */
  long bytes();

  /**
   * Reports taken and never to be delivered: since the agent started for the in-memory queue, since
   * the spool directory was created for the disk spool.
   */
  long dropped();
}
