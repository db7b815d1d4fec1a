package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.DropwizardTestSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.testing.AlertmanagerHarness;
import io.handlewatch.collector.testing.HttpReceiver;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 end to end, nothing simulated: a leaking child runs inside a network namespace of its
 * own (ip netns add, with its server inside too, so the host's namespace never sees the sockets)
 * and inside a cgroup laid out as the kubelet and containerd lay out a pod's container, with the
 * container's OCI config under the agent's --host-root. The real agent (with a host label) enters
 * the namespace, counts the leak, names the pod; the collector pages a real Alertmanager once, with
 * the namespace, pod and container labels and the host label, the summary naming pod/container
 * (comm[pid]); the API's namespace=/pod=/label= filters find it; when the child closes its sockets,
 * one resolution.
 */
class ContainerLeakPagingIT {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final Path AGENT_JAR = Path.of("../agent/target/handlewatch-agent.jar");
  private static final Path LEAKER = Path.of("src/test/resources/leak/CloseWaitLeaker.java");
  private static final Path SERVER = Path.of("src/test/resources/leak/ClosingServer.java");
  private static final Path V2 = Path.of("/sys/fs/cgroup/unified");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ID =
      "3f1e2d4c5b6a79880f1e2d3c4b5a69788f9e0d1c2b3a49586f7e8d9c0b1a2938";
  private static final String UID = "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b";
  private static final String POD = "checkout-7d9f8b6c5-x2k4p";

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();
  private final List<AutoCloseable> closing = new ArrayList<>();
  private String netns;
  private Path cgroupTop;

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closing.reversed()) c.close();
    if (cgroupTop != null && Files.exists(cgroupTop)) {
      List<Path> dirs = new ArrayList<>();
      try (var w = Files.walk(cgroupTop)) {
        w.filter(Files::isDirectory).forEach(dirs::add);
      }
      for (Path d : dirs.reversed()) Files.delete(d);
    }
    if (netns != null) run("ip", "netns", "del", netns);
  }

  @Test
  void aLeakInAPodIsPagedOnceWithItsNamespacePodAndContainer() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "needs root: netns and cgroups");
    assumeTrue(Files.isWritable(V2.resolve("cgroup.procs")), "needs cgroup2 at " + V2);
    assertThat(AGENT_JAR).exists();

    // The node's view of the container: containerd's OCI bundle with the kubelet's annotations.
    Path hostRoot = dir.resolve("host");
    Path bundle = hostRoot.resolve("run/containerd/io.containerd.runtime.v2.task/k8s.io/" + ID);
    Files.createDirectories(bundle);
    // Named namespaces where the agent looks for them under its host root.
    Files.createDirectories(hostRoot.resolve("run"));
    Files.createSymbolicLink(hostRoot.resolve("run/netns"), Path.of("/run/netns"));
    Files.writeString(
        bundle.resolve("config.json"),
        """
        {"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-name":"api",\
        "io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-name":"%s",\
        "io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.sandbox-uid":"%s"}}
        """
            .formatted(POD, UID));
    cgroupTop = V2.resolve("hw12-" + ProcessHandle.current().pid() + "-e2e");
    Path scope =
        cgroupTop.resolve(
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                + UID.replace('-', '_')
                + ".slice/cri-containerd-"
                + ID
                + ".scope");
    Files.createDirectories(scope);
    netns = "hw12-" + ProcessHandle.current().pid() + "-e2e";
    run("ip", "netns", "add", netns);
    run("ip", "-n", netns, "link", "set", "lo", "up");

    HttpReceiver amReceiver = HttpReceiver.start();
    closing.add(amReceiver);
    AlertmanagerHarness am = AlertmanagerHarness.prepare(amReceiver.url() + "/").start();
    closing.add(am);
    Path config = dir.resolve("collector.yml");
    Files.writeString(
        config,
        """
        ingest: {bindHost: 127.0.0.1, port: 0}
        store: {type: memory}
        detection:
          window: 2m
          resolution: 2s
          minHistory: 0s
          quietPeriod: 20s
          releaseAfter: 10s
          closeWait: {minTrend: 20s, minGrowth: 15, minRatePerMinute: 10}
        notifiers:
          - type: alertmanager
            urls: [%s]
            resendInterval: 2s
        server:
          applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
          adminConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
          requestLog: {appenders: []}
        logging: {level: WARN, loggers: {io.handlewatch: INFO}}
        """
            .formatted(am.url()));
    var app =
        new DropwizardTestSupport<CollectorConfiguration>(
            CollectorApplication.class, config.toString());
    app.before();
    closing.add(app::after);
    int grpc = ((CollectorApplication) app.getApplication()).ingest().port();
    String api = "http://127.0.0.1:" + app.getLocalPort() + "/api";

    start(
        "agent",
        List.of(
            JAVA,
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx64m",
            "-jar",
            AGENT_JAR.toString(),
            "run",
            "--collector",
            "127.0.0.1:" + grpc,
            "--interval",
            "1s",
            "--host",
            "k8s-e2e",
            "--label",
            "env=e2e",
            "--host-root",
            hostRoot.toString(),
            "--state-dir",
            dir.resolve("agent-state").toString()));

    start(
        "server",
        List.of("ip", "netns", "exec", netns, JAVA, "-Xmx32m", SERVER.toAbsolutePath().toString()));
    await(
        "the server inside " + netns,
        60,
        () -> log("server").contains("listening "),
        () -> log("server"));
    // The server is the pod's first process, as a pod's sandbox is: the namespace's owner.
    Files.writeString(scope.resolve("cgroup.procs"), Long.toString(started.getLast().pid()));
    Matcher m = Pattern.compile("listening (\\d+)").matcher(log("server"));
    assertThat(m.find()).isTrue();
    String port = m.group(1);
    Process leaker =
        start(
            "leaker",
            List.of(
                "ip",
                "netns",
                "exec",
                netns,
                JAVA,
                "-Xmx32m",
                LEAKER.toAbsolutePath().toString(),
                port));
    long pid = leaker.pid(); // ip netns exec execs java: the same process
    Files.writeString(scope.resolve("cgroup.procs"), Long.toString(pid));
    await("the leaker", 60, () -> log("leaker").contains("leaking towards"), () -> log("leaker"));

    await(
        "the page",
        180,
        () -> !pages(amReceiver, pid).isEmpty(),
        () -> "\nagent:\n" + log("agent") + "\nreceived: " + amReceiver.requests());
    JsonNode alert = pages(amReceiver, pid).getFirst().at("/alerts/0");
    assertThat(alert.at("/labels/alertname").asText()).isEqualTo("CloseWaitGrowing");
    assertThat(alert.at("/labels/host").asText()).isEqualTo("k8s-e2e");
    assertThat(alert.at("/labels/namespace").asText()).isEqualTo("shop");
    assertThat(alert.at("/labels/pod").asText()).isEqualTo(POD);
    assertThat(alert.at("/labels/container").asText()).isEqualTo("api");
    assertThat(alert.at("/labels/env").asText()).isEqualTo("e2e");
    assertThat(alert.at("/labels/remote").asText()).isEqualTo("127.0.0.1:" + port);
    assertThat(alert.at("/annotations/summary").asText())
        .contains(POD + "/api (java[" + pid + "])", "CLOSE_WAIT");

    // The API finds it by namespace, pod and label, and not by another namespace.
    assertThat(get(api + "/v1/alerts?namespace=shop").path("total").asInt()).isEqualTo(1);
    assertThat(get(api + "/v1/alerts?namespace=billing").path("total").asInt()).isZero();
    assertThat(get(api + "/v1/hosts?pod=" + POD + "&label=env=e2e").at("/hosts/0/host").asText())
        .isEqualTo("k8s-e2e");
    JsonNode host = get(api + "/v1/hosts/k8s-e2e");
    boolean counted = false;
    for (JsonNode ns : host.get("namespaces")) {
      if (ns.path("name").asText().equals(netns)) {
        counted =
            ns.at("/tcp/close_wait").asLong() >= 15 && ns.path("reader").asText().equals("netlink");
      }
    }
    assertThat(counted)
        .as("the leak counted in its namespace: %s", host.get("namespaces"))
        .isTrue();

    OutputStream stdin = leaker.getOutputStream();
    stdin.write("close\n".getBytes(StandardCharsets.UTF_8));
    stdin.flush();
    await("the leaker to close", 30, () -> log("leaker").contains("closed "), () -> log("leaker"));
    await(
        "the resolution",
        120,
        () -> count(pages(amReceiver, pid), "resolved") > 0,
        () -> "\nreceived: " + amReceiver.requests());
    List<JsonNode> pages = pages(amReceiver, pid);
    assertThat(count(pages, "firing")).as("firing pages: %s", pages).isEqualTo(1);
    assertThat(count(pages, "resolved")).as("resolved pages: %s", pages).isEqualTo(1);
  }

  private Process start(String name, List<String> cmd) throws IOException {
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()))
            .start();
    started.add(p);
    return p;
  }

  private String log(String name) {
    try {
      return Files.readString(dir.resolve(name + ".log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static void await(String what, int seconds, BooleanSupplier ok, Supplier<String> context)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!ok.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "timed out after " + seconds + " s waiting for " + what + context.get());
      }
      Thread.sleep(200); // polling a condition with a deadline
    }
  }

  private static List<JsonNode> pages(HttpReceiver r, long pid) {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request q : r.requests()) {
      JsonNode n;
      try {
        n = JSON.readTree(q.body());
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + q.body(), e);
      }
      if (n.at("/alerts/0/labels/pid").asText().equals(Long.toString(pid))) out.add(n);
    }
    return out;
  }

  private static long count(List<JsonNode> pages, String status) {
    return pages.stream().filter(p -> p.path("status").asText().equals(status)).count();
  }

  private static JsonNode get(String url) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(url + ": " + r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
  }
}
