package io.handlewatch.agent.source.parse;

import io.handlewatch.agent.source.SocketEntry;
import io.handlewatch.agent.source.TcpState;
import java.nio.ByteOrder;

/**
 * Parses one socket line of {@code /proc/net/tcp} or {@code /proc/net/tcp6}:
 *
 * <pre>
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *    0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 52311 ...
 * </pre>
 *
 * Addresses are the kernel's 32-bit words printed with %08X in host byte order (127.0.0.1 is
 * 0100007F on x86), four words for IPv6; ports are %04X. Pure: no I/O.
 */
public final class ProcNetTcpParser {
  private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

  private ProcNetTcpParser() {}

  /**
   * Fills {@code into} from {@code line}.
   *
   * @param family {@link SocketEntry#AF_INET} for tcp, {@link SocketEntry#AF_INET6} for tcp6
   */
  public static void parse(String file, int lineNo, String line, int family, SocketEntry into)
      throws ProcParseException {
    String[] f = line.strip().split("\\s+");
    if (f.length < 10) {
      throw new ProcParseException(file, lineNo, "expected 10+ fields, got " + f.length);
    }
    int addrHex = family == SocketEntry.AF_INET ? 8 : 32;
    int localPort =
        endpoint(file, lineNo, f[1], addrHex, into.localAddressBuffer(), "local_address");
    int remotePort =
        endpoint(file, lineNo, f[2], addrHex, into.remoteAddressBuffer(), "rem_address");
    int state = (int) hex(file, lineNo, f[3], 2, "st");
    if (!TcpState.isKnown(state)) {
      throw new ProcParseException(file, lineNo, "unknown TCP state 0x" + f[3]);
    }
    long inode = Numbers.parseUnsigned(f[9], file, lineNo, "inode");
    long receiveQueue = 0;
    if (state == TcpState.LISTEN) {
      // tx_queue:rx_queue. A listener's rx_queue is its accept queue (sk_ack_backlog); its
      // tx_queue is a send queue, always 0, not the backlog: only sock_diag tells the backlog.
      String q = f[4];
      int colon = q.indexOf(':');
      if (colon < 1 || colon == q.length() - 1) {
        throw new ProcParseException(
            file, lineNo, "expected tx_queue:rx_queue in hex, got '" + q + "'");
      }
      receiveQueue = hex(file, lineNo, q.substring(colon + 1), 8, "rx_queue");
    }
    into.fill(family, state, localPort, remotePort, inode, receiveQueue, -1);
  }

  private static int endpoint(
      String file, int lineNo, String field, int addrHex, byte[] out, String what)
      throws ProcParseException {
    int colon = field.indexOf(':');
    if (colon != addrHex || field.length() != addrHex + 5) {
      throw new ProcParseException(
          file,
          lineNo,
          "expected " + addrHex + " hex digits:4 hex digits for " + what + ", got '" + field + "'");
    }
    for (int w = 0; w < addrHex / 8; w++) {
      long word = hex(file, lineNo, field.substring(w * 8, w * 8 + 8), 8, what);
      // Each word is a __be32 the kernel printed as a native integer.
      for (int b = 0; b < 4; b++) {
        int shift = LITTLE_ENDIAN ? 8 * b : 8 * (3 - b);
        out[w * 4 + b] = (byte) (word >>> shift);
      }
    }
    return (int) hex(file, lineNo, field.substring(colon + 1), 4, what + " port");
  }

  private static long hex(String file, int lineNo, String s, int maxDigits, String what)
      throws ProcParseException {
    if (s.isEmpty() || s.length() > maxDigits) {
      throw new ProcParseException(file, lineNo, "expected hex for " + what + ", got '" + s + "'");
    }
    long v = 0;
    for (int i = 0; i < s.length(); i++) {
      int d = Character.digit(s.charAt(i), 16);
      if (d < 0) {
        throw new ProcParseException(
            file, lineNo, "expected hex for " + what + ", got '" + s + "'");
      }
      v = (v << 4) | d;
    }
    return v;
  }
}
