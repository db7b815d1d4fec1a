package io.handlewatch.collector.detect;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the detector currently thinks, for the REST API: thread-safe, every method returns an
 * immutable snapshot and never blocks the detector. Each host's verdicts are replaced as a whole
 * after each of its reports is evaluated.
 *
 * <ul>
 *   <li>{@link #verdicts(String)}: a host's current verdicts about exhaustion and growth (process
 *       fds, file handles, CLOSE_WAIT, ports, TIME_WAIT buckets), each with its evidence; {@code
 *       INFO} ones are trends too far from their limit to page.
 *   <li>{@link #findings(String)}: a host's sysctl findings, fleet drift included ({@link
 *       Kind#SYSCTL_DRIFT}, subject = the sysctl).
 *   <li>{@link #activeAlerts()}: the firing alerts fleet-wide, exactly as sent to the notifiers.
 *   <li>{@link #drift()}: per sysctl, the majority value and the hosts that differ.
 * </ul>
 */
public final class DetectionView {
  /**
   * A host's verdicts as of one evaluation.
   *
   * @param host the host
   * @param evaluatedAt the sample time of the report evaluated
   * @param verdicts exhaustion and growth verdicts, worst first
   * @param findings sysctl findings and drift, by kind and subject
   */
  public record HostVerdicts(
      String host, Instant evaluatedAt, List<Verdict> verdicts, List<Verdict> findings) {
    public HostVerdicts {
      verdicts = List.copyOf(verdicts);
      findings = List.copyOf(findings);
    }
  }

  /** Worst first: severity, then the nearest ETA, then subject. */
  public static final Comparator<Verdict> WORST_FIRST =
      Comparator.comparing(Verdict::severity)
          .reversed()
          .thenComparing(
              v -> v.eta() == null ? Long.MAX_VALUE : v.eta().toSeconds(),
              Comparator.naturalOrder())
          .thenComparing(Verdict::subject);

  private final ConcurrentHashMap<String, HostVerdicts> hosts = new ConcurrentHashMap<>();
  private volatile List<Alert> active = List.of();

  /** Each engine's (shard's) firing alerts; {@link #active} is their union. */
  private final Map<Object, List<Alert>> activeByEngine = new HashMap<>();

  private final FleetDrift drift;

  /**
   * A view of the engines sharing {@code drift}; the DetectionRunner makes one for all its shards.
   */
  public DetectionView(FleetDrift drift) {
    this.drift = drift;
  }

  /** The host's current verdicts, worst first; empty for a host not evaluated (or all clear). */
  public List<Verdict> verdicts(String host) {
    HostVerdicts h = hosts.get(host);
    return h == null ? List.of() : h.verdicts();
  }

  /** The host's sysctl findings and drift. */
  public List<Verdict> findings(String host) {
    HostVerdicts h = hosts.get(host);
    return h == null ? List.of() : h.findings();
  }

  /** The host's whole snapshot, if the detector has evaluated it. */
  public Optional<HostVerdicts> host(String host) {
    return Optional.ofNullable(hosts.get(host));
  }

  /** Every host's verdicts, worst first across the fleet (e.g. "nearest to exhaustion"). */
  public List<Verdict> allVerdicts() {
    List<Verdict> all = new ArrayList<>();
    for (HostVerdicts h : hosts.values()) all.addAll(h.verdicts());
    all.sort(WORST_FIRST);
    return List.copyOf(all);
  }

  /** The firing alerts fleet-wide, oldest first. */
  public List<Alert> activeAlerts() {
    return active;
  }

  /** The firing alerts of one host. */
  public List<Alert> activeAlerts(String host) {
    return active.stream().filter(a -> host.equals(a.host())).toList();
  }

  /** Sysctls on which some host differs from the fleet majority, by name. */
  public List<FleetDrift.SysctlDrift> drift() {
    return List.copyOf(drift.all());
  }

  void publish(HostVerdicts h) {
    hosts.put(h.host(), h);
  }

  void publishAlerts(List<Alert> alerts) {
    publishAlerts(this, alerts);
  }

  /** Replaces the firing alerts of one engine (its shard of the fleet). */
  synchronized void publishAlerts(Object engine, List<Alert> alerts) {
    if (alerts.isEmpty()) activeByEngine.remove(engine);
    else activeByEngine.put(engine, List.copyOf(alerts));
    if (activeByEngine.size() <= 1) {
      active = activeByEngine.isEmpty() ? List.of() : activeByEngine.values().iterator().next();
      return;
    }
    List<Alert> all = new ArrayList<>();
    activeByEngine.values().forEach(all::addAll);
    all.sort(Comparator.comparing(Alert::startsAt).thenComparing(Alert::dedupKey));
    active = List.copyOf(all);
  }

  void forget(String host) {
    hosts.remove(host);
  }
}
