package io.handlewatch.collector.ingest;

import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;
import io.handlewatch.collector.store.StorageSchema;
import io.handlewatch.collector.store.TagValues;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ProcessSample;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The cardinality cap: how many distinct series (the tag sets of the storage schema that a report
 * names: process pid+comm, CLOSE_WAIT peer pid+comm+remote, port pressure remote, listener
 * address+comm+namespace, sysctl name) one host may create within a window. A report that would
 * take its host past the cap is refused whole, naming the first field that would have created a
 * series too many; a host's known series keep being accepted.
 *
 * <p>Series are remembered as 64-bit SipHash values under a random key, so a sender cannot craft
 * names that collide to slip past the cap. A series counts while it was seen within the last
 * window; each host keeps two generations of half a window, so memory per host is bounded by the
 * cap.
 */
final class SeriesBudget {
  private final int maxSeries;
  private final long halfWindowNanos;
  private final LongSupplier nanoTime;
  private final HashFunction hash;
  private final ConcurrentHashMap<String, HostSeries> hosts = new ConcurrentHashMap<>();
  private volatile long lastPrune;

  /** One host's series: disjoint generations, so their sizes add up to the distinct count. */
  private static final class HostSeries {
    HashSet<Long> current = new HashSet<>();
    HashSet<Long> previous = new HashSet<>();
    long rotatedAt;
    long lastSeen;

    HostSeries(long now) {
      rotatedAt = now;
      lastSeen = now;
    }

    void rotate(long now, long half) {
      long since = now - rotatedAt;
      if (since < half) return;
      previous = since >= 2 * half ? new HashSet<>() : current;
      current = new HashSet<>();
      rotatedAt = now;
    }

    int distinct() {
      return current.size() + previous.size();
    }
  }

  /** A series a report names, and the field that names it. */
  private record Named(long series, String field) {}

  SeriesBudget(int maxSeries, long windowNanos, LongSupplier nanoTime) {
    this.maxSeries = maxSeries;
    this.halfWindowNanos = Math.max(1, windowNanos / 2);
    this.nanoTime = nanoTime;
    byte[] key = new byte[16];
    new SecureRandom().nextBytes(key);
    long k0 = 0;
    long k1 = 0;
    for (int i = 0; i < 8; i++) {
      k0 = (k0 << 8) | (key[i] & 0xff);
      k1 = (k1 << 8) | (key[i + 8] & 0xff);
    }
    this.hash = Hashing.sipHash24(k0, k1);
    this.lastPrune = nanoTime.getAsLong();
  }

  /**
   * Admits the report's series for its host, or says which field would exceed the cap. Only an
   * admitted report's series are remembered.
   */
  Optional<Violation> admit(String host, HostReport report) {
    long now = nanoTime.getAsLong();
    if (now - lastPrune > halfWindowNanos) prune(now);
    List<Named> named = seriesOf(report.getSample());
    HostSeries h = hosts.computeIfAbsent(host, k -> new HostSeries(now));
    synchronized (h) {
      h.rotate(now, halfWindowNanos);
      h.lastSeen = now;
      int distinct = h.distinct();
      HashSet<Long> fresh = new HashSet<>();
      for (Named n : named) {
        if (h.current.contains(n.series()) || h.previous.contains(n.series())) continue;
        if (fresh.add(n.series()) && distinct + fresh.size() > maxSeries) {
          return Optional.of(
              Violation.tooBig(
                  n.field(),
                  "cardinality",
                  "host "
                      + host
                      + " would have more than "
                      + maxSeries
                      + " distinct series within the window (ingest.limits.maxSeriesPerHost);"
                      + " this report adds "
                      + fresh.size()
                      + " to the "
                      + distinct
                      + " it has"));
        }
      }
      for (Named n : named) {
        h.previous.remove(n.series()); // keeps the generations disjoint
        h.current.add(n.series());
      }
    }
    return Optional.empty();
  }

  /** Distinct series a host has within the window (for tests and metrics). */
  int seriesOf(String host) {
    HostSeries h = hosts.get(host);
    if (h == null) return 0;
    synchronized (h) {
      h.rotate(nanoTime.getAsLong(), halfWindowNanos);
      return h.distinct();
    }
  }

  private List<Named> seriesOf(HostSample s) {
    List<Named> out = new ArrayList<>();
    for (int i = 0; i < s.getProcessesCount(); i++) {
      ProcessSample p = s.getProcesses(i);
      String proc = Integer.toUnsignedString(p.getPid()) + '\0' + TagValues.safe(p.getComm());
      String at = "sample.processes[" + i + "]";
      out.add(new Named(series(StorageSchema.PROCESS.name(), proc), at));
      for (int j = 0; j < p.getCloseWaitPeersCount(); j++) {
        String remote = TagValues.safe(p.getCloseWaitPeers(j).getEndpoint());
        out.add(
            new Named(
                series(StorageSchema.CLOSE_WAIT_PEER.name(), proc + '\0' + remote),
                at + ".close_wait_peers[" + j + "]"));
      }
    }
    for (int i = 0; i < s.getPortPressure().getTopCount(); i++) {
      String remote = TagValues.safe(s.getPortPressure().getTop(i).getRemote());
      out.add(
          new Named(
              series(StorageSchema.PORT_PRESSURE.name(), remote),
              "sample.port_pressure.top[" + i + "]"));
    }
    // Listeners sharing address, comm and namespace are one series (ReportPoints): counting each
    // of them would overcount, never under.
    for (int i = 0; i < s.getListenQueues().getListenersCount(); i++) {
      var l = s.getListenQueues().getListeners(i);
      String listener =
          TagValues.safe(l.getLocal())
              + '\0'
              + TagValues.safe(l.getComm())
              + '\0'
              + l.getIdentity().getPodNamespace();
      out.add(
          new Named(
              series(StorageSchema.LISTENER.name(), listener),
              "sample.listen_queues.listeners[" + i + "]"));
    }
    for (int i = 0; i < s.getSysctlsCount(); i++) {
      String name = TagValues.safe(s.getSysctls(i).getName());
      out.add(new Named(series(StorageSchema.SYSCTL.name(), name), "sample.sysctls[" + i + "]"));
    }
    return out;
  }

  private long series(String measurement, String tags) {
    return hash.newHasher()
        .putString(measurement, StandardCharsets.UTF_8)
        .putByte((byte) 0)
        .putString(tags, StandardCharsets.UTF_8)
        .hash()
        .asLong();
  }

  private synchronized void prune(long now) {
    if (now - lastPrune <= halfWindowNanos) return;
    lastPrune = now;
    hosts
        .values()
        .removeIf(
            h -> {
              synchronized (h) {
                return now - h.lastSeen >= 2 * halfWindowNanos;
              }
            });
  }
}
