package io.handlewatch.collector.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The collector and agent jars run as the user runs them, each a process with its log in the test's
 * directory; {@link #close()} kills every one still running. For the fault tests, which kill,
 * restart and cut them off.
 */
public final class RealPrograms implements AutoCloseable {
  public static final Path COLLECTOR_JAR = Path.of("target/handlewatch-collector.jar");
  public static final Path AGENT_JAR = Path.of("../agent/target/handlewatch-agent.jar");
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final HttpClient http = HttpClient.newHttpClient();
  private static final ObjectMapper json = new ObjectMapper();
  private static final Pattern STOPPING =
      Pattern.compile("stopping: last report seq (\\d+), (\\d+) reports unacknowledged");

  private final Path dir;
  private final List<Process> started = new ArrayList<>();

  public RealPrograms(Path dir) {
    this.dir = dir;
    if (!Files.exists(COLLECTOR_JAR) || !Files.exists(AGENT_JAR)) {
      throw new IllegalStateException(
          "the fault tests run the packaged jars: " + COLLECTOR_JAR + " and " + AGENT_JAR);
    }
  }

  /** {@code bin/handlewatch-collector server CONFIG} as a process logging to collector.log. */
  public Process collector(Path config) throws IOException {
    return start(
        "collector",
        List.of(),
        List.of(JAVA, "-Xmx256m", "-jar", COLLECTOR_JAR.toString(), "server", config.toString()));
  }

  /**
   * {@code handlewatch-agent run ARGS} as a process logging to agent.log, run through {@code
   * prefix} (for example {@code ip netns exec NS}).
   */
  public Process agent(List<String> prefix, String... args) throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                JAVA,
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx64m",
                "-XX:+UseSerialGC",
                "-jar",
                AGENT_JAR.toString(),
                "run"));
    cmd.addAll(List.of(args));
    return start("agent", prefix, cmd);
  }

  /**
   * {@code handlewatch-agent run} reporting to the collector on loopback port {@code grpcPort} as
   * {@code host}, its state in the test's directory ({@code agent-state}), then {@code more} (for
   * example {@code --interval 1s}).
   */
  public Process agentReporting(int grpcPort, String host, String... more) throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--collector",
                "127.0.0.1:" + grpcPort,
                "--host",
                host,
                "--state-dir",
                dir.resolve("agent-state").toString()));
    args.addAll(List.of(more));
    return agent(List.of(), args.toArray(String[]::new));
  }

  /** The test resources' CLOSE_WAIT leaker (run by the paging tests' real agents). */
  public static final Path CLOSE_WAIT_LEAKER =
      Path.of("src/test/resources/leak/CloseWaitLeaker.java");

  /**
   * The CLOSE_WAIT leaker toward {@code port} on loopback, as a process logging to leaker.log, run
   * through {@code prefix} (for example {@code ip netns exec NS}); {@code more} after the port, as
   * the leaker takes them (how many sockets).
   */
  public Process closeWaitLeaker(List<String> prefix, String port, String... more)
      throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(JAVA, "-Xmx32m", CLOSE_WAIT_LEAKER.toAbsolutePath().toString(), port));
    cmd.addAll(List.of(more));
    return start("leaker", prefix, cmd);
  }

  /** {@code handlewatch-agent simulate ARGS}: many simulated hosts, logging to simulate.log. */
  public Process simulate(String... args) throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                JAVA, "-Xmx256m", "-XX:+UseSerialGC", "-jar", AGENT_JAR.toString(), "simulate"));
    cmd.addAll(List.of(args));
    return start("simulate", List.of(), cmd);
  }

  /** {@code cmd} as a process logging to NAME.log in the test's directory. */
  public Process start(String name, List<String> cmd) throws IOException {
    return start(name, List.of(), cmd);
  }

  private Process start(String name, List<String> prefix, List<String> cmd) throws IOException {
    List<String> all = new ArrayList<>(prefix);
    all.addAll(cmd);
    Process p =
        new ProcessBuilder(all)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()))
            .start();
    started.add(p);
    return p;
  }

  /** What the program has logged so far, across its restarts. */
  public String log(String name) {
    try {
      return Files.readString(dir.resolve(name + ".log"));
    } catch (IOException e) {
      return "";
    }
  }

  /** How often {@code text} occurs in the program's log. */
  public int count(String name, String text) {
    return log(name).split(Pattern.quote(text), -1).length - 1;
  }

  /** Stops the agent with SIGTERM, as systemd does, and returns its last seq and unacked count. */
  public AgentStop stopAgent(Process agent) throws InterruptedException {
    agent.destroy();
    if (!agent.waitFor(30, TimeUnit.SECONDS)) {
      throw new AssertionError("the agent did not stop within 30 s of SIGTERM");
    }
    Matcher m = STOPPING.matcher(log("agent"));
    AgentStop last = null;
    while (m.find()) {
      last = new AgentStop(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
    }
    if (last == null) {
      throw new AssertionError("no 'stopping:' line in the agent's log:\n" + log("agent"));
    }
    return last;
  }

  /**
   * Stops the agent; when its spool still holds reports, runs it again with the same {@code args}
   * until {@code delivered} holds for what the first one said, and stops that one too. Returns what
   * the first agent said when it stopped.
   */
  public AgentStop stopAndDrain(
      Process agent, List<String> prefix, String[] args, Predicate<AgentStop> delivered)
      throws IOException, InterruptedException {
    AgentStop stop = stopAgent(agent);
    if (stop.unacknowledged() > 0) {
      Process again = agent(prefix, args);
      await(
          "the " + stop.unacknowledged() + " reports left in the spool to arrive",
          Duration.ofSeconds(60),
          () -> delivered.test(stop));
      stopAgent(again);
    }
    return stop;
  }

  /** What the agent said when it stopped: its last seq and the reports its spool still held. */
  public record AgentStop(long lastSeq, long unacknowledged) {}

  /** 200 from the admin port's /healthcheck. */
  public static boolean healthy(int adminPort) {
    return healthcheck(adminPort).orElse(0) == 200;
  }

  /** The status of the admin port's /healthcheck, empty when it does not answer. */
  public static OptionalLong healthcheck(int adminPort) {
    try {
      var r =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/healthcheck"))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      return OptionalLong.of(r.statusCode());
    } catch (IOException e) {
      return OptionalLong.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return OptionalLong.empty();
    }
  }

  /** The admin port's /metrics, or null when it does not answer. */
  public static JsonNode metrics(int adminPort) {
    return getJson("http://127.0.0.1:" + adminPort + "/metrics");
  }

  /** GET {@code url} as JSON; null unless it answers 200. */
  public static JsonNode getJson(String url) {
    try {
      var r =
          http.send(
              HttpRequest.newBuilder(URI.create(url)).build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? json.readTree(r.body()) : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * Writes a collector configuration: {@code ingest} and {@code store} sections as given (YAML flow
   * maps), REST and admin on loopback, handlewatch's own log lines at INFO.
   */
  public static void writeCollectorConfig(
      Path file, String ingest, String store, int httpPort, int adminPort) throws IOException {
    Files.writeString(
        file,
        """
        ingest: %s
        store: %s
        server:
          applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: %d}]
          adminConnectors: [{type: http, bindHost: 127.0.0.1, port: %d}]
          requestLog: {appenders: []}
        logging: {level: WARN, loggers: {io.handlewatch: INFO}}
        """
            .formatted(ingest, store, httpPort, adminPort));
  }

  /** The distinct seqs of {@code host}'s reports stored in {@code database}, ascending. */
  public static List<Long> storedSeqs(InfluxdHarness influxd, String database, String host) {
    try {
      JsonNode body =
          json.readTree(
              influxd.query(
                  database, "SELECT seq FROM agent WHERE host = '" + host.replace("'", "") + "'"));
      List<Long> seqs = new ArrayList<>();
      for (JsonNode row : body.at("/results/0/series/0/values")) seqs.add(row.get(1).asLong());
      return seqs.stream().distinct().sorted().toList();
    } catch (IOException e) {
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /** The seqs missing from 1..{@code last} in {@code seqs} (ascending, distinct). */
  public static List<Long> gaps(List<Long> seqs, long last) {
    var have = new java.util.HashSet<>(seqs);
    List<Long> missing = new ArrayList<>();
    for (long s = 1; s <= last; s++) if (!have.contains(s)) missing.add(s);
    return missing;
  }

  /** Polls {@code ok} every 100 ms until it holds, failing after {@code limit}. */
  public static void await(String what, Duration limit, BooleanSupplier ok)
      throws InterruptedException {
    await(what, limit, ok, () -> "");
  }

  /**
   * Polls {@code ok} every 100 ms until it holds; after {@code limit} fails with what {@code
   * context} says then (logs, what was received).
   */
  public static void await(
      String what, Duration limit, BooleanSupplier ok, Supplier<String> context)
      throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!ok.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "timed out after " + limit + " waiting for " + what + context.get());
      }
      Thread.sleep(100); // polling a condition with a deadline
    }
  }

  /** The version in the parent pom: the one both programs, the packages and the images carry. */
  public static String pomVersion() throws IOException {
    String pom = Files.readString(Path.of("../pom.xml"));
    java.util.regex.Matcher m =
        Pattern.compile("<artifactId>handlewatch-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(pom);
    if (!m.find()) throw new IllegalStateException("no version in ../pom.xml");
    return m.group(1);
  }

  /** {@code java -jar handlewatch-collector.jar ARGS}, run to its end: exit code and stdout. */
  public static Map.Entry<Integer, String> runCollectorJar(String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(JAVA, "-jar", COLLECTOR_JAR.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(2, java.util.concurrent.TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IllegalStateException("collector " + args[0] + " did not end; output: " + out);
    }
    return Map.entry(p.exitValue(), out);
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
