package io.handlewatch.agent.source;

import io.handlewatch.proto.v1.TcpReader;
import java.io.IOException;

/**
 * A host's TCP socket table, streamed one socket at a time so that no reader ever holds every
 * socket in memory.
 */
public interface SocketTable {

  /** Which reader this is, as reported in the sample. */
  TcpReader kind();

  /**
   * Calls {@code visitor} once per TCP socket (IPv4 and IPv6, every state). The {@link SocketEntry}
   * passed is reused between calls: copy what must outlive the call.
   *
   * @param problems where a reader notes records it had to skip (a malformed line of
   *     /proc/net/tcp), with file and line
   * @return how many sockets were visited
   * @throws IOException when the table cannot be read at all; a reader that fails part-way throws
   *     too, since partial counts would be wrong counts
   */
  long forEach(SocketVisitor visitor, Problems problems) throws IOException;

  /** Receives sockets from {@link SocketTable#forEach}. */
  @FunctionalInterface
  interface SocketVisitor {
    void socket(SocketEntry entry);
  }
}
