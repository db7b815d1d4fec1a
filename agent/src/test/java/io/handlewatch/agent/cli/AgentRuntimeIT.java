package io.handlewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.handlewatch.agent.testing.IngestServer;
import io.handlewatch.agent.testing.IngestServer.Mode;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import io.handlewatch.proto.v1.SourceStatus;
import io.handlewatch.proto.v1.TcpReader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The self-contained agent runtime as a host gets it: {@code bin/dev/build-dist agent} makes the
 * tarball (jlink image + jar + launcher), the test unpacks it and runs the agent with no JDK
 * anywhere on PATH and no JAVA_HOME, and the agent must sample this host and stream to a real gRPC
 * server on loopback, which exercises the modules jdeps chose (netty, protobuf, gRPC, FFM).
 */
class AgentRuntimeIT {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  @TempDir static Path dir;
  static Path launcher;
  static Path path;

  @BeforeAll
  static void buildAndUnpack() throws Exception {
    Path log = dir.resolve("build-dist.log");
    Process build =
        new ProcessBuilder(ROOT.resolve("bin/dev/build-dist").toString(), "--no-build", "agent")
            .directory(ROOT.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    // jlink, then the AOT cache's training run: about a minute on an idle 2-core machine, several
    // when other builds share it.
    if (!build.waitFor(12, TimeUnit.MINUTES)) {
      build.descendants().forEach(ProcessHandle::destroyForcibly);
      build.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      throw new AssertionError("build-dist did not finish in 12 minutes: " + Files.readString(log));
    }
    String out = Files.readString(log);
    assertThat(build.exitValue()).as(out).isZero();
    // The sizes go to the test log: they are the figures the README reports.
    System.out.print(out);

    Path tarball = ROOT.resolve("agent/target/handlewatch-agent-linux-" + arch() + ".tar.gz");
    assertThat(tarball).exists();
    Path install = Files.createDirectories(dir.resolve("opt"));
    Process untar =
        new ProcessBuilder("tar", "-C", install.toString(), "-xzf", tarball.toString())
            .inheritIO()
            .start();
    assertThat(untar.waitFor(2, TimeUnit.MINUTES)).isTrue();
    assertThat(untar.exitValue()).isZero();
    launcher = install.resolve("handlewatch-agent/bin/handlewatch-agent");
    assertThat(launcher).isExecutable();
    assertThat(install.resolve("handlewatch-agent/runtime/bin/java")).isExecutable();
    assertThat(install.resolve("handlewatch-agent/runtime/jmods")).doesNotExist();
    assertThat(install.resolve("handlewatch-agent/runtime/bin/javac")).doesNotExist();
    // The AOT cache trained on this runtime: the launcher maps the daemon's classes from it.
    assertThat(install.resolve("handlewatch-agent/lib/handlewatch-agent.aot")).isNotEmptyFile();

    // A PATH with only what the launcher script itself runs: no java, no JDK.
    path = Files.createDirectories(dir.resolve("path"));
    for (String tool : List.of("bash", "dirname", "readlink")) {
      Files.copy(which(tool), path.resolve(tool), StandardCopyOption.COPY_ATTRIBUTES);
    }
  }

  @Test
  void samplesThisHostWithoutAnyJdk() throws Exception {
    Process p = start("sample", "--json");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(stderr("sample")).isZero();
    HostSample s = AgentLauncherIT.parse(out);
    assertThat(s.getTcp().getReader()).isEqualTo(TcpReader.TCP_READER_NETLINK);
    assertThat(s.getTcp().getTotal().getListen()).isPositive();
    assertThat(s.getFileHandles().getMax()).isPositive();
    assertThat(s.getProcessWalk().getProcessesSeen()).isPositive();
    assertThat(s.getSysctlsList())
        .anySatisfy(k -> assertThat(k.getName()).isEqualTo("net.core.somaxconn"));
    assertThat(s.getHealth().getSourcesList())
        .isNotEmpty()
        .allSatisfy(
            src ->
                assertThat(src.getStatus())
                    .as(src.toString())
                    .isNotEqualTo(SourceStatus.SOURCE_STATUS_FAILED));
  }

  /**
   * The AOT cache holds the daemon's classes, gRPC's and Netty's among them, and the JVM loads all
   * of a cache's classes at start-up: the launcher maps it for {@code run} only, so that {@code
   * sample} does not carry the ~1,700 classes only the daemon loads (8-9 MiB resident;
   * BENCHMARKS.md, "Agent daemon footprint").
   */
  @Test
  void sampleStartsWithoutTheDaemonsClassCache() throws Exception {
    Process p = start("sample", "--json", "--compact", "--count", "2", "--interval", "2s");
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String first = out.readLine();
      assertThat(first).as("a first sample; stderr: " + stderr("sample")).isNotNull();
      assertThat(AgentLauncherIT.parse(first).getFileHandles().getMax()).isPositive();
      // The launcher execs java, so this is the JVM, still running until its second sample.
      String maps = Files.readString(Path.of("/proc", Long.toString(p.pid()), "maps"));
      assertThat(maps).contains("/libjvm.so").doesNotContain("handlewatch-agent.aot");
      while (out.readLine() != null) {
        // the second sample; the command then exits
      }
    }
    assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(stderr("sample")).isZero();
  }

  @Test
  void streamsToACollectorOverGrpc() throws Exception {
    LinkedBlockingQueue<HostReport> received = new LinkedBlockingQueue<>();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new IngestGrpc.IngestImplBase() {
                  @Override
                  public StreamObserver<HostReport> report(StreamObserver<ReportAck> acks) {
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(HostReport r) {
                        received.add(r);
                        acks.onNext(ReportAck.newBuilder().setAckedSeq(r.getSeq()).build());
                      }

                      @Override
                      public void onError(Throwable t) {}

                      @Override
                      public void onCompleted() {
                        acks.onCompleted();
                      }
                    };
                  }
                })
            .build()
            .start();
    Process agent = null;
    try {
      agent =
          start(
              "run",
              "--collector",
              "127.0.0.1:" + server.getPort(),
              "--interval",
              "1s",
              "--host",
              "runtime-it",
              "--state-dir",
              dir.resolve("state").toString());
      HostReport first = received.poll(90, TimeUnit.SECONDS);
      assertThat(first).as("a report within 90 s; agent stderr: " + stderr("run")).isNotNull();
      assertThat(first.getSample().getHost().getHostname()).isEqualTo("runtime-it");
      assertThat(first.getSeq()).isPositive();
      assertThat(first.getSample().getTcp().getReader()).isEqualTo(TcpReader.TCP_READER_NETLINK);
      assertThat(stderr("run"))
          .as("the AOT cache matches this runtime and jar (a mismatch is warned about)")
          .doesNotContainPattern("\\[warning\\]\\[(aot|cds)");
      assertThat(Files.readString(Path.of("/proc", Long.toString(agent.pid()), "maps")))
          .as("the daemon maps its classes from the AOT cache")
          .contains("handlewatch-agent.aot");
      // Every report says which agent build sent it: the fleet page shows a rollout with it.
      assertThat(first.getSample().getHost().getAgentVersion()).isEqualTo(pomVersion());
      assertThat(gitHead())
          .startsWith(first.getSample().getHost().getAgentCommit().replace("-dirty", ""));
    } finally {
      if (agent != null) {
        agent.destroy();
        if (!agent.waitFor(30, TimeUnit.SECONDS)) agent.destroyForcibly().waitFor();
      }
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  /**
   * The daemon gives back the clean file pages it needed only to start ({@code StartupPages}):
   * {@code libjvm.so}'s resident set (this runtime's own file, which no other process maps), read
   * from /proc/PID/smaps at the first report and again two samples after the page-out that comes
   * before the second, must have fallen by several MiB although sampling faulted back what it uses.
   * Without the page-out it only grows (15.9 MiB on JDK 25; BENCHMARKS.md, "Agent daemon
   * footprint").
   */
  @Test
  void daemonGivesBackTheStartUpPagesOfLibjvm() throws Exception {
    try (IngestServer collector = IngestServer.start(Mode.ACK)) {
      Process agent =
          start(
              "run",
              "--collector",
              collector.target(),
              "--interval",
              "1s",
              "--host",
              "page-out-it",
              "--state-dir",
              dir.resolve("state-page-out").toString());
      try {
        awaitReports(collector, agent, 1);
        long before = libjvmResidentKb(agent.pid());
        assertThat(stderr("run")).doesNotContain("start-up pages given back");
        awaitReports(collector, agent, 4);
        long after = libjvmResidentKb(agent.pid());
        System.out.println(
            "libjvm.so resident: " + before + " kB at the first report, " + after + " kB later");
        assertThat(stderr("run")).contains("start-up pages given back");
        assertThat(after)
            .as(
                "libjvm.so resident after the page-out (kB), against %d at the first report",
                before)
            .isLessThan(before - 4096);
      } finally {
        agent.destroy();
        if (!agent.waitFor(30, TimeUnit.SECONDS)) agent.destroyForcibly().waitFor();
      }
    }
  }

  private static void awaitReports(IngestServer collector, Process agent, int n)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (collector.received().size() < n && System.nanoTime() < deadline) {
      assertThat(agent.isAlive()).as("agent running; stderr: " + stderr("run")).isTrue();
      TimeUnit.MILLISECONDS.sleep(20); // polling the server's record, bounded by the deadline
    }
    assertThat(collector.received())
        .as("reports; stderr: " + stderr("run"))
        .hasSizeGreaterThanOrEqualTo(n);
  }

  /** Rss of every mapping of the runtime's libjvm.so in /proc/PID/smaps, in kB. */
  static long libjvmResidentKb(long pid) throws IOException {
    long kb = 0;
    boolean in = false;
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps"))) {
      if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
        in = line.endsWith("/libjvm.so");
      } else if (in && line.startsWith("Rss:")) {
        kb += Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    assertThat(kb).as("libjvm.so mapped by " + pid).isPositive();
    return kb;
  }

  @Test
  void printsItsVersionAndCommit() throws Exception {
    Process p = start("--version");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(stderr("--version")).isZero();
    Matcher m =
        Pattern.compile("handlewatch-agent (\\S+) \\(commit ([0-9a-f]+)(-dirty)?\\)").matcher(out);
    assertThat(m.matches()).as(out).isTrue();
    assertThat(m.group(1)).isEqualTo(pomVersion());
    assertThat(gitHead()).startsWith(m.group(2));
  }

  /** The version in the parent pom: the one every program, package and image carries. */
  static String pomVersion() throws IOException {
    String pom = Files.readString(ROOT.resolve("pom.xml"));
    Matcher m =
        Pattern.compile("<artifactId>handlewatch-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(pom);
    assertThat(m.find()).as("the parent pom's version").isTrue();
    return m.group(1);
  }

  /** The commit checked out, which the build under test was made from. */
  static String gitHead() throws IOException, InterruptedException {
    Process p = new ProcessBuilder("git", "rev-parse", "HEAD").directory(ROOT.toFile()).start();
    String head = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(head).matches("[0-9a-f]{40}");
    return head;
  }

  /** Starts the unpacked launcher with an environment that holds no JDK. */
  static Process start(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(launcher.toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().clear();
    pb.environment().put("PATH", path.toString());
    pb.environment().put("LANG", "C.UTF-8");
    pb.redirectError(dir.resolve("agent-" + args[0] + ".err").toFile());
    return pb.start();
  }

  /** What the agent started with {@code command} wrote to stderr so far. */
  static String stderr(String command) {
    try {
      return Files.readString(dir.resolve("agent-" + command + ".err"));
    } catch (IOException e) {
      return "(stderr unreadable: " + e + ")";
    }
  }

  static Path which(String tool) {
    for (String d : List.of("/usr/bin", "/bin")) {
      Path p = Path.of(d, tool);
      if (Files.isExecutable(p)) return p;
    }
    throw new AssertionError(tool + " not found in /usr/bin or /bin");
  }

  static String arch() throws IOException, InterruptedException {
    Process p = new ProcessBuilder("uname", "-m").start();
    String m = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    return m;
  }
}
