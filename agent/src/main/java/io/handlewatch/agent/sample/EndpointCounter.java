package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.Endpoints;
import io.handlewatch.agent.source.SocketEntry;
import io.handlewatch.agent.source.TcpState;
import io.handlewatch.agent.source.util.LongIntHashMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts sockets per remote endpoint (ip:port), and how many of them are in TIME_WAIT. IPv4
 * endpoints are keyed by a packed long so that counting 100k sockets allocates nothing per socket;
 * IPv6 endpoints are rare enough to key by their text.
 */
final class EndpointCounter {
  private final LongIntHashMap v4Index = new LongIntHashMap(64);
  private final Map<String, Integer> v6Index = new HashMap<>();
  private final List<String> names = new ArrayList<>();
  private long[] packedV4 = new long[16];
  private long[] counts = new long[16];
  private long[] timeWait = new long[16];

  /** A ranked endpoint: its text, its sockets, and those in TIME_WAIT. */
  record Ranked(String endpoint, long count, long timeWait) {}

  void add(SocketEntry s) {
    int i;
    if (s.family() == SocketEntry.AF_INET) {
      long key = packV4(s);
      i = v4Index.get(key);
      if (i == LongIntHashMap.MISSING) {
        i = newSlot(null, key);
        v4Index.put(key, i);
      }
    } else {
      String name = s.remoteEndpoint();
      Integer idx = v6Index.get(name);
      if (idx == null) {
        idx = newSlot(name, 0);
        v6Index.put(name, idx);
      }
      i = idx;
    }
    counts[i]++;
    if (s.state() == TcpState.TIME_WAIT) {
      timeWait[i]++;
    }
  }

  int size() {
    return names.size();
  }

  /** The {@code n} endpoints with the most sockets, most first, ties by endpoint text. */
  List<Ranked> top(int n) {
    List<Ranked> all = new ArrayList<>(names.size());
    for (int i = 0; i < names.size(); i++) {
      all.add(new Ranked(name(i), counts[i], timeWait[i]));
    }
    all.sort(Comparator.comparingLong(Ranked::count).reversed().thenComparing(Ranked::endpoint));
    return all.subList(0, Math.min(n, all.size()));
  }

  private String name(int i) {
    String n = names.get(i);
    if (n != null) {
      return n;
    }
    long key = packedV4[i];
    byte[] addr = {
      (byte) (key >>> 40), (byte) (key >>> 32), (byte) (key >>> 24), (byte) (key >>> 16)
    };
    return Endpoints.format(addr, 4, (int) (key & 0xFFFF));
  }

  private int newSlot(String name, long packed) {
    int i = names.size();
    if (i == counts.length) {
      counts = Arrays.copyOf(counts, i * 2);
      timeWait = Arrays.copyOf(timeWait, i * 2);
      packedV4 = Arrays.copyOf(packedV4, i * 2);
    }
    names.add(name);
    packedV4[i] = packed;
    return i;
  }

  /** Address in bits 16..47, port in bits 0..15, and bit 48 set so the key is never 0. */
  private static long packV4(SocketEntry s) {
    long a =
        ((s.remoteAddressByte(0) & 0xFFL) << 24)
            | ((s.remoteAddressByte(1) & 0xFFL) << 16)
            | ((s.remoteAddressByte(2) & 0xFFL) << 8)
            | (s.remoteAddressByte(3) & 0xFFL);
    return (1L << 48) | (a << 16) | (s.remotePort() & 0xFFFF);
  }
}
