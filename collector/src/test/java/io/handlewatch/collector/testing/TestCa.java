package io.handlewatch.collector.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A test CA made by {@code bin/dev/make-test-ca} (openssl), the script docs/security.md tells users
 * to run: its CA, the collector's certificate (127.0.0.1, localhost) and one certificate per agent.
 */
public final class TestCa {
  private final Path dir;

  private TestCa(Path dir) {
    this.dir = dir;
  }

  /** Runs the script into {@code dir} for the given agent hosts. */
  public static TestCa make(Path dir, String... hosts) throws IOException, InterruptedException {
    run(dir, hosts);
    return new TestCa(dir);
  }

  public Path dir() {
    return dir;
  }

  public Path caCert() {
    return dir.resolve("ca.crt");
  }

  public Path serverCert() {
    return dir.resolve("server.crt");
  }

  public Path serverKey() {
    return dir.resolve("server.key");
  }

  public Path cert(String host) {
    return dir.resolve(host + ".crt");
  }

  public Path key(String host) {
    return dir.resolve(host + ".key");
  }

  /**
   * Issues a new server certificate under the same CA into a staging directory and moves it over
   * the served files (key first), as a certificate renewal would.
   */
  public void renewServerCertificate() throws IOException, InterruptedException {
    Path staging = Files.createTempDirectory(dir.getParent(), "renew-");
    Files.copy(caCert(), staging.resolve("ca.crt"));
    Files.copy(dir.resolve("ca.key"), staging.resolve("ca.key"));
    run(staging);
    Files.move(
        staging.resolve("server.key"),
        serverKey(),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    Files.move(
        staging.resolve("server.crt"),
        serverCert(),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Issues {@code host}'s client certificate again under this CA, already expired (openssl's {@code
   * -days -1}: it ends a day before it starts), as {@code host-expired.crt/.key}.
   */
  public void issueExpired(String host) throws IOException, InterruptedException {
    String name = host + "-expired";
    Path ext = Files.writeString(dir.resolve(name + ".ext"), "extendedKeyUsage=clientAuth\n");
    String[][] steps = {
      {
        "openssl",
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        name + ".key"
      },
      {
        "openssl",
        "req",
        "-new",
        "-key",
        name + ".key",
        "-subj",
        "/CN=" + host,
        "-out",
        name + ".csr"
      },
      {
        "openssl",
        "x509",
        "-req",
        "-in",
        name + ".csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "0x" + Long.toHexString(System.nanoTime()),
        "-days",
        "-1",
        "-sha256",
        "-extfile",
        ext.getFileName().toString(),
        "-out",
        name + ".crt"
      },
    };
    for (String[] step : steps) {
      Process p =
          new ProcessBuilder(step).directory(dir.toFile()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", step) + " failed: " + out);
      }
    }
  }

  private static void run(Path dir, String... hosts) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(script().toString());
    cmd.add(dir.toString());
    cmd.addAll(List.of(hosts));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("make-test-ca did not finish within 60 s: " + out);
    }
    if (p.exitValue() != 0) {
      throw new IOException("make-test-ca exited with " + p.exitValue() + ": " + out);
    }
  }

  /** bin/dev/make-test-ca of this checkout (tests run in the module directory). */
  static Path script() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path s = d.resolve("bin/dev/make-test-ca");
      if (Files.isExecutable(s)) return s;
    }
    throw new IllegalStateException(
        "bin/dev/make-test-ca not found above " + Path.of("").toAbsolutePath());
  }
}
