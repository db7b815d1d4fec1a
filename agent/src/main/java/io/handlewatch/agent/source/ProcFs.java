package io.handlewatch.agent.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A procfs mount, rooted where the agent was told ({@code /proc} on a host, {@code /host/proc} in a
 * container, a fixture directory in tests). Every source reads through one of these, never through
 * a hard-coded path.
 */
public final class ProcFs {
  /** Cap for one small /proc file: /proc files report size 0, so their size can't be trusted. */
  public static final int SMALL_FILE_CAP = 1 << 20;

  private final Path root;

  public ProcFs(Path root) {
    this.root = root;
  }

  /** The default for this host: {@code /proc}. */
  public static ProcFs host() {
    return new ProcFs(Path.of("/proc"));
  }

  public Path root() {
    return root;
  }

  /**
   * Whether the root is a live procfs mount (not a fixture copy): only there does the size of
   * {@code /proc/PID/fd} count open fds.
   */
  public boolean isProcfs() {
    try {
      return "proc".equals(Files.getFileStore(root).type());
    } catch (IOException e) {
      return false;
    }
  }

  /** {@code root/relative}, e.g. {@code path("net/sockstat")}. */
  public Path path(String relative) {
    return root.resolve(relative);
  }

  /**
   * Name of a file as an operator would look for it: "/proc/net/sockstat" on a host, the fixture
   * path in tests.
   */
  public String display(String relative) {
    return path(relative).toString();
  }

  /**
   * Reads a small file in one go, without trusting its reported size, up to {@link #SMALL_FILE_CAP}
   * bytes (more is an error rather than a silent truncation).
   */
  public String readSmall(String relative) throws IOException {
    return readCapped(path(relative), SMALL_FILE_CAP);
  }

  /** Reads up to {@code cap} bytes of {@code file}; an {@link IOException} if it is longer. */
  public static String readCapped(Path file, int cap) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[Math.min(cap, 8192)];
      int n = 0;
      while (true) {
        if (n == buf.length) {
          if (n >= cap) {
            if (in.read() < 0) {
              break;
            }
            throw new IOException(file + ": longer than " + cap + " bytes");
          }
          buf = Arrays.copyOf(buf, Math.min(cap, buf.length * 2));
        }
        int r = in.read(buf, n, buf.length - n);
        if (r < 0) {
          break;
        }
        n += r;
      }
      return new String(buf, 0, n, StandardCharsets.UTF_8);
    }
  }
}
