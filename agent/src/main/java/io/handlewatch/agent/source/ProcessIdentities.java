package io.handlewatch.agent.source;

import java.io.IOException;
import java.nio.file.NoSuchFileException;

/**
 * Who a process belongs to: {@code /proc/PID/cgroup} read through {@link CgroupIdentity}, named
 * through {@link ContainerNames}. Read only for the processes a sample reports and one member per
 * network namespace, so its cost follows the report's size, not the host's process count.
 */
public final class ProcessIdentities {
  /** Everything known about one process's owner; fields other than cgroup may be null. */
  public record Identity(CgroupIdentity cgroup, ContainerNames.Names names) {}

  private final ProcFs fs;
  private final ContainerNames names;

  public ProcessIdentities(ProcFs fs, ContainerNames names) {
    this.fs = fs;
    this.names = names;
  }

  /** Call once at the start of every sample (lets the name cache follow pod churn). */
  public void startSample() {
    names.startSample();
  }

  /**
   * The identity of {@code pid}, or null when its cgroup file is missing (the process exited, or a
   * fixture tree without it). An unreadable or unexpected file is noted in {@code problems}.
   */
  public Identity read(int pid, Problems problems) {
    String text;
    try {
      text = fs.readSmall(pid + "/cgroup");
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      problems.skip(SourceErrors.describe(e));
      return null;
    }
    String path = CgroupIdentity.choosePath(text);
    if (path == null) {
      problems.skip(fs.display(pid + "/cgroup") + ": no cgroup line in it");
      return null;
    }
    CgroupIdentity c = CgroupIdentity.parse(path);
    ContainerNames.Names n =
        c.containerId() == null && c.podUid() == null
            ? null
            : names.lookup(c.runtime(), c.containerId(), c.podUid(), problems);
    return new Identity(c, n);
  }
}
