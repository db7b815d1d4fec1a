package io.handlewatch.collector.api;

import io.handlewatch.collector.detect.Alert;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.ProcessSample;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code namespace=}, {@code pod=}, {@code unit=} and {@code label=KEY=VALUE} filters of {@code
 * /api/v1/hosts} and {@code /api/v1/alerts}. A host matches when its latest report names a process
 * or a network namespace owned by that Kubernetes namespace, pod or systemd unit (all given at
 * once, by the same owner) and carries every label given; an alert matches on its own labels.
 */
record OwnerFilter(String namespace, String pod, String unit, Map<String, String> labels) {
  static final OwnerFilter NONE = new OwnerFilter(null, null, null, Map.of());

  static OwnerFilter parse(String namespace, String pod, String unit, List<String> label) {
    Map<String, String> labels = new TreeMap<>();
    if (label != null) {
      for (String l : label) {
        for (String one : l.split(",")) {
          if (one.isBlank()) continue;
          int eq = one.indexOf('=');
          if (eq <= 0 || eq == one.length() - 1) {
            throw new ApiException(
                400,
                "label",
                "label takes KEY=VALUE, e.g. label=env=prod; got '" + one + "'",
                List.of());
          }
          labels.put(one.substring(0, eq).strip(), one.substring(eq + 1).strip());
        }
      }
    }
    return new OwnerFilter(blankToNull(namespace), blankToNull(pod), blankToNull(unit), labels);
  }

  boolean isEmpty() {
    return namespace == null && pod == null && unit == null && labels.isEmpty();
  }

  boolean matches(HostReport r) {
    HostSample s = r.getSample();
    Map<String, String> hostLabels = s.getHost().getLabelsMap();
    for (var e : labels.entrySet()) {
      if (!e.getValue().equals(hostLabels.get(e.getKey()))) return false;
    }
    if (namespace == null && pod == null && unit == null) return true;
    for (ProcessSample p : s.getProcessesList()) {
      if (p.hasIdentity() && owns(p.getIdentity())) return true;
    }
    for (NamespaceSockets ns : s.getTcp().getNamespacesList()) {
      if (ns.hasOwner() && owns(ns.getOwner())) return true;
    }
    return false;
  }

  boolean matches(Alert a) {
    Map<String, String> l = a.labels();
    if (namespace != null && !namespace.equals(l.get("namespace"))) return false;
    if (pod != null && !pod.equals(l.get("pod"))) return false;
    if (unit != null && !unit.equals(l.get("unit"))) return false;
    for (var e : labels.entrySet()) {
      if (!e.getValue().equals(l.get(e.getKey()))) return false;
    }
    return true;
  }

  private boolean owns(ProcessIdentity id) {
    return (namespace == null || namespace.equals(id.getPodNamespace()))
        && (pod == null || pod.equals(id.getPodName()))
        && (unit == null || unit.equals(id.getSystemdUnit()));
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }
}
