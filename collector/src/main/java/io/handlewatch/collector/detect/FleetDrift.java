package io.handlewatch.collector.detect;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Fleet drift: for each sysctl, the value most hosts have, and the hosts that have another. Kept as
 * counts per (sysctl, value), updated only when a host's sysctls change, so a host's drift costs
 * one lookup per sysctl. Thread-safe: the detector thread updates it, the API reads it.
 */
public final class FleetDrift {
  /**
   * One sysctl across the fleet.
   *
   * @param name the sysctl
   * @param majority the value more than half of the reporting hosts have
   * @param majorityHosts how many hosts have it
   * @param reportingHosts how many hosts report this sysctl
   * @param differing host → its value, for every host that differs, in host order
   */
  public record SysctlDrift(
      String name,
      String majority,
      int majorityHosts,
      int reportingHosts,
      Map<String, String> differing) {}

  private final int minHosts;
  private final Set<String> ignored;
  private final Map<String, Map<String, String>> byHost = new HashMap<>();
  private final Map<String, Map<String, Integer>> counts = new HashMap<>();

  public FleetDrift(DetectionConfig.Drift config) {
    this.minHosts = config.minHosts();
    this.ignored = new HashSet<>(config.ignore());
  }

  /** Records a host's current sysctls (all of them, as the host last sent them). */
  public synchronized void update(String host, Map<String, String> sysctls) {
    Map<String, String> before = byHost.put(host, sysctls);
    if (before != null) before.forEach((name, value) -> count(name, value, -1));
    sysctls.forEach((name, value) -> count(name, value, +1));
  }

  /** Forgets a host that stopped reporting. */
  public synchronized void remove(String host) {
    Map<String, String> before = byHost.remove(host);
    if (before != null) before.forEach((name, value) -> count(name, value, -1));
  }

  private void count(String name, String value, int delta) {
    if (ignored.contains(name)) return;
    Map<String, Integer> values = counts.computeIfAbsent(name, n -> new HashMap<>());
    int n = values.getOrDefault(value, 0) + delta;
    if (n <= 0) values.remove(value);
    else values.put(value, n);
    if (values.isEmpty()) counts.remove(name);
  }

  /** The majority value of a sysctl and its count, if one value has more than half the hosts. */
  private Optional<Map.Entry<String, Integer>> majority(String name) {
    Map<String, Integer> values = counts.get(name);
    if (values == null) return Optional.empty();
    int total = 0;
    Map.Entry<String, Integer> best = null;
    for (var e : values.entrySet()) {
      total += e.getValue();
      if (best == null || e.getValue() > best.getValue()) best = e;
    }
    if (total < minHosts || best == null || best.getValue() * 2 <= total) return Optional.empty();
    return Optional.of(Map.entry(best.getKey(), total));
  }

  /** Sysctls of {@code host} that differ from the fleet majority: name → (its value, majority). */
  public synchronized Map<String, SysctlDrift> of(String host) {
    Map<String, String> mine = byHost.get(host);
    Map<String, SysctlDrift> out = new TreeMap<>();
    if (mine == null) return out;
    for (var e : mine.entrySet()) {
      var m = majority(e.getKey());
      if (m.isEmpty() || m.get().getKey().equals(e.getValue())) continue;
      String name = e.getKey();
      String majorityValue = m.get().getKey();
      out.put(
          name,
          new SysctlDrift(
              name,
              majorityValue,
              counts.get(name).get(majorityValue),
              m.get().getValue(),
              Map.of(host, e.getValue())));
    }
    return out;
  }

  /** Every sysctl with a majority and at least one host that differs, by name. */
  public synchronized List<SysctlDrift> all() {
    List<SysctlDrift> out = new ArrayList<>();
    for (String name : new java.util.TreeSet<>(counts.keySet())) {
      var m = majority(name);
      if (m.isEmpty()) continue;
      String majorityValue = m.get().getKey();
      Map<String, String> differing = new TreeMap<>();
      for (var h : byHost.entrySet()) {
        String v = h.getValue().get(name);
        if (v != null && !v.equals(majorityValue)) differing.put(h.getKey(), v);
      }
      if (differing.isEmpty()) continue;
      out.add(
          new SysctlDrift(
              name,
              majorityValue,
              counts.get(name).get(majorityValue),
              m.get().getValue(),
              java.util.Collections.unmodifiableMap(differing)));
    }
    return out;
  }
}
