package io.handlewatch.agent.source;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/** Formats socket endpoints the way SREs read them: "10.0.0.5:5432", "[2001:db8::1]:443". */
public final class Endpoints {
  private Endpoints() {}

  /** Formats {@code length} bytes of {@code address} (network order) and {@code port}. */
  public static String format(byte[] address, int length, int port) {
    InetAddress a;
    try {
      a = InetAddress.getByAddress(Arrays.copyOf(address, length));
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address: " + length + " bytes", e);
    }
    if (a instanceof Inet6Address) {
      // getByAddress turns ::ffff:a.b.c.d into an Inet4Address; a real IPv6 address keeps the
      // brackets so the port stays unambiguous.
      return "[" + compress(a.getHostAddress()) + "]:" + port;
    }
    return a.getHostAddress() + ":" + port;
  }

  /** Java prints full IPv6 groups ("0:0:0:0:0:0:0:1"); SREs expect RFC 5952's "::1". */
  static String compress(String full) {
    String[] groups = full.split(":", -1);
    int bestStart = -1;
    int bestLen = 0;
    for (int i = 0; i < groups.length; ) {
      if (groups[i].equals("0")) {
        int j = i;
        while (j < groups.length && groups[j].equals("0")) {
          j++;
        }
        if (j - i > bestLen && j - i > 1) {
          bestStart = i;
          bestLen = j - i;
        }
        i = j;
      } else {
        i++;
      }
    }
    if (bestStart < 0) {
      return full;
    }
    String head = String.join(":", Arrays.copyOfRange(groups, 0, bestStart));
    String tail = String.join(":", Arrays.copyOfRange(groups, bestStart + bestLen, groups.length));
    return head + "::" + tail;
  }
}
