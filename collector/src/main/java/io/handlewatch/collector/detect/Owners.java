package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.ProcessIdentity;
import java.util.HashMap;
import java.util.Map;

/**
 * The one place that turns a process's identity (container, pod, systemd unit, as the agent learnt
 * it on the node) into what pages say: the name in summaries and the Alertmanager labels, under the
 * conventional names {@code namespace}, {@code pod} and {@code container} so that routes by
 * namespace work as they do for Prometheus alerts.
 */
public final class Owners {
  private Owners() {}

  /** {@code pod/container}, {@code pod}, {@code container}, or null when not in a container. */
  public static String name(ProcessIdentity id) {
    if (id == null) return null;
    if (id.hasPodName()) {
      return id.getPodName() + (id.hasContainerName() ? "/" + id.getContainerName() : "");
    }
    if (id.hasContainerName()) return id.getContainerName();
    if (id.hasContainerId())
      return id.getContainerId().substring(0, Math.min(12, id.getContainerId().length()));
    return null;
  }

  /** Alertmanager labels for the identity: namespace, pod, container, unit, where known. */
  public static Map<String, String> labels(ProcessIdentity id) {
    Map<String, String> l = new HashMap<>(4);
    if (id == null) return l;
    if (id.hasPodNamespace()) l.put("namespace", id.getPodNamespace());
    if (id.hasPodName()) l.put("pod", id.getPodName());
    if (id.hasContainerName()) l.put("container", id.getContainerName());
    else if (id.hasContainerId()) l.put("container", name(id));
    if (id.hasSystemdUnit() && !id.hasContainerId()) l.put("unit", id.getSystemdUnit());
    return l;
  }

  /**
   * The verdicts with the host's labels (env, cluster, role...) added; a verdict's own label of the
   * same name wins.
   */
  static void addHostLabels(java.util.List<Verdict> verdicts, Map<String, String> hostLabels) {
    if (hostLabels.isEmpty()) return;
    for (int i = 0; i < verdicts.size(); i++) {
      Verdict v = verdicts.get(i);
      Map<String, String> l = new HashMap<>(hostLabels);
      l.putAll(v.labels());
      verdicts.set(
          i,
          new Verdict(
              v.host(),
              v.kind(),
              v.subject(),
              v.severity(),
              v.at(),
              v.window(),
              v.slopePerMin(),
              v.value(),
              v.limit(),
              v.eta(),
              v.since(),
              l,
              v.summary(),
              v.description(),
              v.dedupKey()));
    }
  }
}
