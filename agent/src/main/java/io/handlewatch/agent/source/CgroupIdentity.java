package io.handlewatch.agent.source;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who a process belongs to, as far as its cgroup path tells: systemd unit, container runtime and
 * container id, Kubernetes pod UID. Names (namespace, pod, container) come later from {@link
 * ContainerNames}.
 *
 * <p>The layouts recognised, anywhere in the path (so nested hierarchies such as kind nodes or a
 * {@code hw12-} test prefix work the same), for the systemd and the cgroupfs drivers:
 *
 * <pre>
 * systemd     /system.slice/nginx.service, /user.slice/user-1000.slice/session-3.scope
 * docker      /system.slice/docker-ID.scope           /docker/ID
 * containerd  .../cri-containerd-ID.scope             /kubepods/.../podUID/ID (runtime from state)
 * CRI-O       .../crio-ID.scope                       .../crio-ID
 * podman      /machine.slice/libpod-ID.scope          /libpod_parent/libpod-ID
 * kubepods    kubepods-burstable-podUID_WITH_UNDERSCORES.slice   /kubepods/burstable/podUID
 * </pre>
 *
 * A path matching none of these still yields its raw cgroup path: never an error.
 */
public record CgroupIdentity(
    String cgroup, String unit, String runtime, String containerId, String podUid) {

  private static final String ID = "([0-9a-f]{64})";
  private static final Pattern SCOPE =
      Pattern.compile("(docker|cri-containerd|crio|libpod|nerdctl)-" + ID + "\\.scope");
  private static final Pattern CGROUPFS_PREFIXED = Pattern.compile("(crio|libpod)-" + ID);
  private static final Pattern BARE_ID = Pattern.compile(ID);
  private static final Pattern POD_SLICE =
      Pattern.compile("kubepods(?:-[a-z]+)?-pod([0-9a-f_]{36})\\.slice");
  private static final Pattern POD_DIR = Pattern.compile("pod([0-9a-f-]{36})");

  /**
   * The path the identity is read from: the cgroup v2 path ({@code 0::}), unless it is the root
   * (hybrid hosts keep processes in v1), then the v1 {@code name=systemd} path, then the first
   * non-root v1 path. "/" when every line says root, null when the file has no usable line.
   */
  public static String choosePath(String procPidCgroup) {
    String v2 = null;
    String systemd = null;
    String other = null;
    for (String line : procPidCgroup.split("\n")) {
      int a = line.indexOf(':');
      int b = a < 0 ? -1 : line.indexOf(':', a + 1);
      if (b < 0) {
        continue;
      }
      String controllers = line.substring(a + 1, b);
      String path = line.substring(b + 1).strip();
      if (path.isEmpty()) {
        continue;
      }
      if (line.startsWith("0::")) {
        v2 = path;
      } else if (controllers.equals("name=systemd")) {
        systemd = path;
      } else if (other == null && !path.equals("/")) {
        other = path;
      }
    }
    for (String p : new String[] {v2, systemd, other}) {
      if (p != null && !p.equals("/")) {
        return p;
      }
    }
    return v2 != null || systemd != null ? "/" : null;
  }

  /** Reads what {@code path} says; fields it does not tell are null. */
  public static CgroupIdentity parse(String path) {
    String unit = null;
    String runtime = null;
    String id = null;
    String pod = null;
    boolean underKubepods = false;
    boolean underDocker = false;
    for (String c : path.split("/")) {
      if (c.isEmpty()) {
        continue;
      }
      Matcher m;
      if (c.endsWith(".service") || c.endsWith(".scope")) {
        unit = c;
      }
      if (c.equals("kubepods") || c.startsWith("kubepods.") || c.startsWith("kubepods-")) {
        underKubepods = true;
      }
      if ((m = POD_SLICE.matcher(c)).matches()) {
        pod = m.group(1).replace('_', '-');
      } else if (underKubepods && (m = POD_DIR.matcher(c)).matches()) {
        pod = m.group(1);
      } else if ((m = SCOPE.matcher(c)).matches()) {
        runtime = runtimeOf(m.group(1));
        id = m.group(2);
      } else if ((m = CGROUPFS_PREFIXED.matcher(c)).matches()) {
        runtime = runtimeOf(m.group(1));
        id = m.group(2);
      } else if (BARE_ID.matcher(c).matches()) {
        // cgroupfs driver: the bare id under /docker/ or a kubepods pod directory. Under kubepods
        // the runtime is told by whose state directory holds the id (ContainerNames).
        id = c;
        runtime = underDocker ? "docker" : null;
      }
      underDocker = c.equals("docker");
    }
    return new CgroupIdentity(path, unit, runtime, id, pod);
  }

  private static String runtimeOf(String prefix) {
    return switch (prefix) {
      case "docker" -> "docker";
      case "cri-containerd", "nerdctl" -> "containerd";
      case "crio" -> "cri-o";
      case "libpod" -> "podman";
      default -> throw new IllegalArgumentException(prefix);
    };
  }
}
