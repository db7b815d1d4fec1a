package io.handlewatch.agent.source;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kubernetes namespace, pod and container names of a container, learnt on the node without an API
 * server. Sources, most authoritative first, all under the host root:
 *
 * <ol>
 *   <li>The OCI bundle the runtime started the container from: {@code
 *       run/containerd/io.containerd.runtime.v2.task/k8s.io/ID/config.json} (containerd's CRI
 *       plugin, annotations {@code io.kubernetes.cri.sandbox-namespace}, {@code sandbox-name},
 *       {@code container-name}, {@code sandbox-uid}) and {@code
 *       run/containers/storage/overlay-containers/ID/userdata/config.json} (CRI-O and podman,
 *       annotations {@code io.kubernetes.pod.namespace}, {@code pod.name}, {@code container.name},
 *       {@code pod.uid}). The kubelet passes these to the runtime for exactly this purpose; they
 *       are written once when the container starts and never change, so one read per container is
 *       enough.
 *   <li>Docker's {@code var/lib/docker/containers/ID/config.v2.json}: the same {@code
 *       io.kubernetes.*} labels when the kubelet runs through cri-dockerd, else the container's
 *       name ({@code "Name":"/web"}).
 *   <li>The kubelet's pod directory {@code var/lib/kubelet/pods/UID}: the pod name from the {@code
 *       etc-hosts} it writes for the pod (its last line names the pod's hostname, the pod name
 *       unless {@code spec.hostname} overrides it), the namespace from the service-account volume's
 *       {@code namespace} file, and the container name when the pod has one container.
 * </ol>
 *
 * Not used: the container's {@code /etc/hostname} through {@code /proc/PID/root}, which needs
 * access to the container's mount namespace and says only the pod name. Results are cached by
 * container id (pod UID for the kubelet's directory); entries not asked for in a sample are
 * forgotten at the next one, so the cache follows pod churn.
 */
public final class ContainerNames {
  /** What was learnt; any field may be null. */
  public record Names(String runtime, String namespace, String pod, String container) {
    static final Names NONE = new Names(null, null, null, null);
  }

  private static final int CONFIG_CAP = 4 << 20;

  private final Path hostRoot;
  private Map<String, Names> cache = new HashMap<>();
  private Map<String, Names> used = new HashMap<>();

  public ContainerNames(Path hostRoot) {
    this.hostRoot = hostRoot;
  }

  /** Starts a sample: what the previous sample did not ask for is forgotten. */
  public void startSample() {
    cache = used;
    used = new HashMap<>();
  }

  /**
   * Names for container {@code id} (may be null) of pod {@code podUid} (may be null); {@code
   * runtime} is what the cgroup path said, or null.
   */
  public Names lookup(String runtime, String id, String podUid, Problems problems) {
    String key = (id != null ? id : "") + "/" + (podUid != null ? podUid : "");
    Names n = cache.get(key);
    if (n == null) {
      n = read(runtime, id, podUid, problems);
    }
    used.put(key, n);
    return n;
  }

  private Names read(String runtime, String id, String podUid, Problems problems) {
    if (id != null) {
      if (runtime == null || runtime.equals("containerd")) {
        Names n =
            annotations(
                "containerd",
                hostRoot.resolve(
                    "run/containerd/io.containerd.runtime.v2.task/k8s.io/" + id + "/config.json"),
                "io.kubernetes.cri.sandbox-namespace",
                "io.kubernetes.cri.sandbox-name",
                "io.kubernetes.cri.container-name",
                problems);
        if (n != null) return n;
      }
      if (runtime == null || runtime.equals("cri-o") || runtime.equals("podman")) {
        Names n =
            annotations(
                runtime == null ? "cri-o" : runtime,
                hostRoot.resolve(
                    "run/containers/storage/overlay-containers/" + id + "/userdata/config.json"),
                "io.kubernetes.pod.namespace",
                "io.kubernetes.pod.name",
                "io.kubernetes.container.name",
                problems);
        if (n != null) return n;
      }
      if (runtime == null || runtime.equals("docker")) {
        Path f = hostRoot.resolve("var/lib/docker/containers/" + id + "/config.v2.json");
        String json = readOrNull(f, problems);
        if (json != null) {
          String container = value(json, "io.kubernetes.container.name");
          if (container == null) {
            String name = value(json, "Name");
            container = name != null && name.startsWith("/") ? name.substring(1) : name;
          }
          return new Names(
              "docker",
              value(json, "io.kubernetes.pod.namespace"),
              value(json, "io.kubernetes.pod.name"),
              container);
        }
      }
    }
    if (podUid != null) {
      return kubeletPodDir(runtime, podUid, problems);
    }
    return new Names(runtime, null, null, null);
  }

  private Names annotations(
      String runtime,
      Path config,
      String nsKey,
      String podKey,
      String containerKey,
      Problems problems) {
    String json = readOrNull(config, problems);
    if (json == null) {
      return null;
    }
    return new Names(runtime, value(json, nsKey), value(json, podKey), value(json, containerKey));
  }

  private Names kubeletPodDir(String runtime, String podUid, Problems problems) {
    Path dir = hostRoot.resolve("var/lib/kubelet/pods/" + podUid);
    if (!Files.isDirectory(dir)) {
      return new Names(runtime, null, null, null);
    }
    String pod = null;
    String hosts = readOrNull(dir.resolve("etc-hosts"), problems);
    if (hosts != null) {
      List<String> lines =
          hosts.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
      if (!lines.isEmpty()) {
        String[] f = lines.getLast().split("\\s+");
        pod = f.length >= 2 ? f[1] : null;
      }
    }
    String namespace = null;
    Path projected = dir.resolve("volumes/kubernetes.io~projected");
    for (Path v : list(projected, problems)) {
      String ns = readOrNull(v.resolve("namespace"), problems);
      if (ns != null && !ns.isBlank()) {
        namespace = ns.strip();
        break;
      }
    }
    List<Path> containers = list(dir.resolve("containers"), problems);
    String container =
        containers.size() == 1 ? containers.getFirst().getFileName().toString() : null;
    return new Names(runtime, namespace, pod, container);
  }

  private static List<Path> list(Path dir, Problems problems) {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      s.forEach(out::add);
    } catch (IOException e) {
      problems.note(SourceErrors.describe(e));
    }
    out.sort(null);
    return out;
  }

  private static String readOrNull(Path f, Problems problems) {
    try {
      return ProcFs.readCapped(f, CONFIG_CAP);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      problems.note(SourceErrors.describe(e));
      return null;
    }
  }

  /**
   * The string value of the first {@code "key": "value"} pair in {@code json}. The files read are
   * written by the runtimes and the keys looked for are unique in them, so a full JSON parser would
   * buy nothing but a dependency.
   */
  static String value(String json, String key) {
    Matcher m =
        Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"")
            .matcher(json);
    if (!m.find()) {
      return null;
    }
    String raw = m.group(1);
    if (raw.indexOf('\\') < 0) {
      return raw;
    }
    StringBuilder b = new StringBuilder(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '\\' && i + 1 < raw.length()) {
        char n = raw.charAt(++i);
        switch (n) {
          case 'n' -> b.append('\n');
          case 't' -> b.append('\t');
          case 'u' -> {
            try {
              b.append((char) Integer.parseInt(raw.substring(i + 1, i + 5), 16));
              i += 4;
            } catch (NumberFormatException | IndexOutOfBoundsException e) {
              b.append("\\u"); // a broken escape is kept as written
            }
          }
          default -> b.append(n);
        }
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
