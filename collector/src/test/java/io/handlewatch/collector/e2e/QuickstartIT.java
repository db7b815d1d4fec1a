package io.handlewatch.collector.e2e;

import static io.handlewatch.collector.testing.RealPrograms.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.testing.RealPrograms;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command as a new user runs it: bin/quickstart starts the collector and an
 * agent, and the API lists this host with its TCP counts; stopping the script stops both.
 */
class QuickstartIT {

  private static boolean listening(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private record Run(Process process, int http, int grpc, Path out) {}

  private static Run start(Path dir, java.util.Map<String, String> env, String... args)
      throws IOException {
    int httpPort = freePort();
    int grpc = freePort();
    int admin = freePort();
    java.util.List<String> cmd =
        new java.util.ArrayList<>(
            java.util.List.of(
                "bash", Path.of("../bin/quickstart").toAbsolutePath().normalize().toString()));
    cmd.addAll(java.util.List.of(args));
    Path out = dir.resolve("quickstart.out");
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
    pb.environment().put("HANDLEWATCH_HTTP_PORT", Integer.toString(httpPort));
    pb.environment().put("HANDLEWATCH_GRPC_PORT", Integer.toString(grpc));
    pb.environment().put("HANDLEWATCH_ADMIN_PORT", Integer.toString(admin));
    pb.environment().put("HANDLEWATCH_QUICKSTART_DIR", dir.toString());
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().putAll(env);
    return new Run(pb.start(), httpPort, grpc, out);
  }

  /** Waits until the API lists a host; returns the listing. */
  private static JsonNode awaitHost(Run run) throws Exception {
    String api = "http://127.0.0.1:" + run.http() + "/api/v1/hosts";
    JsonNode hosts = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (hosts == null || hosts.path("hosts").isEmpty()) {
      assertThat(run.process().isAlive())
          .as("quickstart still running; its output:\n%s", Files.readString(run.out()))
          .isTrue();
      assertThat(System.nanoTime()).as("a host listed within 120 s").isLessThan(deadline);
      Thread.sleep(250); // polling the API with a deadline
      hosts = RealPrograms.getJson(api);
    }
    return hosts;
  }

  /**
   * SIGTERM (what Ctrl-C's SIGINT also does): exit 0, one "stopped" line, no terminal escape codes,
   * and both programs gone.
   */
  private static void stopsCleanly(Run run) throws Exception {
    run.process().destroy();
    assertThat(run.process().waitFor(30, TimeUnit.SECONDS))
        .as("quickstart stops on SIGTERM")
        .isTrue();
    String out = Files.readString(run.out());
    assertThat(run.process().exitValue()).as("exit code; output:\n%s", out).isZero();
    assertThat(out.lines().filter(l -> l.contains("stopped")).toList())
        .containsExactly("quickstart: stopped");
    assertThat(out).doesNotContain("exited").doesNotContain("\u001b");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (listening(run.grpc()) || listening(run.http())) {
      assertThat(System.nanoTime())
          .as("collector and agent stopped with the script")
          .isLessThan(deadline);
      Thread.sleep(100); // polling the ports with a deadline
    }
  }

  @Test
  void quickstartListsThisHostWithinAnInterval(@TempDir Path dir) throws Exception {
    Run run = start(dir, java.util.Map.of("HANDLEWATCH_INTERVAL", "2s"));
    try {
      String api = "http://127.0.0.1:" + run.http() + "/api/v1/hosts";
      JsonNode hosts = awaitHost(run);
      JsonNode host = hosts.path("hosts").get(0);
      String name = host.get("host").asText();
      assertThat(host.at("/tcp/listen").asLong())
          .as("this host listens on the quickstart's own ports")
          .isPositive();
      // The agent's version travels with its reports; the collector logs it once per stream.
      String version = RealPrograms.pomVersion();
      assertThat(host.path("agent_version").asText()).isEqualTo(version);
      assertThat(host.path("agent_commit").asText()).matches("[0-9a-f]{7,40}(-dirty)?");
      assertThat(Files.readString(dir.resolve("collector.log")))
          .contains("collector " + version + " (commit ")
          .containsPattern(
              "agent connected: host="
                  + java.util.regex.Pattern.quote(name)
                  + " .*agent_version="
                  + java.util.regex.Pattern.quote(version)
                  + " agent_commit=[0-9a-f]+");
      JsonNode one = RealPrograms.getJson(api + "/" + name);
      assertThat(one).isNotNull();
      assertThat(one.at("/sample/host/hostname").asText()).isEqualTo(name);
      assertThat(Files.readString(run.out()))
          .contains("curl -s localhost:" + run.http() + "/api/v1/hosts");
    } finally {
      stopsCleanly(run);
    }
  }

  /**
   * The five-minute first look, shortened: --demo starts a real CLOSE_WAIT leak on loopback (the
   * demo-leak process), the detector's verdict names it, and Ctrl-C stops everything, the leak
   * included. The leak's bounds are shortened; the detection settings are the demo's own.
   */
  @Test
  void demoShowsARealLeakAsAVerdictNamingTheProcess(@TempDir Path dir) throws Exception {
    // No Alertmanager: the demo must run without one (and say so).
    Run run =
        start(
            dir,
            java.util.Map.of(
                "HANDLEWATCH_DEMO_LEAK_EVERY", "0.5",
                "HANDLEWATCH_DEMO_LEAK_MAX", "200",
                "HANDLEWATCH_DEMO_LEAK_HOLD", "120",
                "HANDLEWATCH_ALERTMANAGER_URL", "http://127.0.0.1:" + freePort()),
            "--demo");
    long leakPid = -1;
    try {
      String name = awaitHost(run).path("hosts").get(0).get("host").asText();
      Path leakLog = dir.resolve("demo-leak.log");
      java.util.regex.Pattern pidLine = java.util.regex.Pattern.compile("demo-leak: pid (\\d+) ");
      JsonNode verdict = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
      while (verdict == null) {
        assertThat(run.process().isAlive())
            .as("quickstart still running; its output:\n%s", Files.readString(run.out()))
            .isTrue();
        assertThat(System.nanoTime())
            .as(
                "a verdict naming demo-leak within 150 s; output:\n%s\nhost:\n%s",
                Files.readString(run.out()),
                RealPrograms.getJson("http://127.0.0.1:" + run.http() + "/api/v1/hosts/" + name))
            .isLessThan(deadline);
        Thread.sleep(1000); // polling the API with a deadline
        if (leakPid < 0 && Files.exists(leakLog)) {
          var m = pidLine.matcher(Files.readString(leakLog));
          if (m.find()) leakPid = Long.parseLong(m.group(1));
        }
        JsonNode host =
            RealPrograms.getJson("http://127.0.0.1:" + run.http() + "/api/v1/hosts/" + name);
        if (host == null || leakPid < 0) continue;
        for (JsonNode v : host.path("verdicts")) {
          if (v.path("subject").asText().contains("demo-leak[" + leakPid + "]")) verdict = v;
        }
      }
      assertThat(verdict.path("kind").asText()).as(verdict.toString()).contains("close_wait");
      String out = Files.readString(run.out());
      assertThat(out)
          .contains("http://localhost:" + run.http() + "/#/host/" + name)
          .contains("no Alertmanager at");
    } finally {
      stopsCleanly(run);
    }
    long pid = leakPid;
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
        .as("the leak stopped with the script")
        .isFalse();
  }

  @Test
  void quickstartTakesConfigurationFilesForBothPrograms(@TempDir Path dir) throws Exception {
    // The shipped configuration with one visible change: the fleet listing's largest page.
    Path collector = dir.resolve("my-collector.yml");
    Files.writeString(
        collector,
        Files.readString(Path.of("config/quickstart.yml")) + "\napi:\n  maxPageSize: 7\n");
    Path agent = Files.writeString(dir.resolve("my-agent.properties"), "interval=1s\n");
    Run run =
        start(
            dir,
            java.util.Map.of(),
            "--config",
            collector.toString(),
            "--agent-config",
            agent.toString());
    try {
      awaitHost(run);
      String api = "http://127.0.0.1:" + run.http() + "/api/v1/hosts?limit=";
      assertThat(RealPrograms.getJson(api + "7")).as("limit 7").isNotNull();
      assertThat(RealPrograms.getJson(api + "8")).as("limit 8, over maxPageSize 7").isNull();
      assertThat(Files.readString(dir.resolve("agent.log"))).contains("every 1000 ms");
    } finally {
      stopsCleanly(run);
    }
  }
}
