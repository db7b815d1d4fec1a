package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.testing.NetworkNamespace;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.collector.testing.RealPrograms;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
  private static final Path SERVER = Path.of("src/test/resources/leak/ClosingServer.java");
  private static final Path V2 = Path.of("/sys/fs/cgroup/unified");
  private static final String ID =
      "3f1e2d4c5b6a79880f1e2d3c4b5a69788f9e0d1c2b3a49586f7e8d9c0b1a2938";
  private static final String UID = "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b";
  private static final String POD = "checkout-7d9f8b6c5-x2k4p";

  @TempDir Path dir;
  private RealPrograms programs;
  private final List<AutoCloseable> closing = new ArrayList<>();
  private String netns;
  private Path cgroupTop;

  @AfterEach
  void cleanUp() throws Exception {
    if (programs != null) programs.close();
    for (AutoCloseable c : closing.reversed()) c.close();
    if (cgroupTop != null && Files.exists(cgroupTop)) {
      List<Path> dirs = new ArrayList<>();
      try (var w = Files.walk(cgroupTop)) {
        w.filter(Files::isDirectory).forEach(dirs::add);
      }
      for (Path d : dirs.reversed()) Files.delete(d);
    }
    if (netns != null) NetworkNamespace.run("ip", "netns", "del", netns);
  }

  @Test
  void aLeakInAPodIsPagedOnceWithItsNamespacePodAndContainer() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "needs root: netns and cgroups");
    assumeTrue(Files.isWritable(V2.resolve("cgroup.procs")), "needs cgroup2 at " + V2);
    assertThat(RealPrograms.AGENT_JAR).exists();

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
    NetworkNamespace.run("ip", "netns", "add", netns);
    NetworkNamespace.run("ip", "-n", netns, "link", "set", "lo", "up");

    programs = new RealPrograms(dir);
    PagingStack stack =
        PagingStack.memory(dir, PagingStack.SHORTENED_DETECTION, "resendInterval: 2s");
    closing.add(stack);
    int grpc = stack.grpcPort();
    String api = stack.api();

    programs.agentReporting(
        grpc,
        "k8s-e2e",
        "--interval",
        "1s",
        "--label",
        "env=e2e",
        "--host-root",
        hostRoot.toString());

    Process server =
        programs.start(
            "server",
            List.of(
                "ip", "netns", "exec", netns, JAVA, "-Xmx32m", SERVER.toAbsolutePath().toString()));
    RealPrograms.await(
        "the server inside " + netns,
        Duration.ofSeconds(60),
        () -> programs.log("server").contains("listening "),
        () -> programs.log("server"));
    // The server is the pod's first process, as a pod's sandbox is: the namespace's owner.
    Files.writeString(scope.resolve("cgroup.procs"), Long.toString(server.pid()));
    Matcher m = Pattern.compile("listening (\\d+)").matcher(programs.log("server"));
    assertThat(m.find()).isTrue();
    String port = m.group(1);
    Process leaker = programs.closeWaitLeaker(List.of("ip", "netns", "exec", netns), port);
    long pid = leaker.pid(); // ip netns exec execs java: the same process
    Files.writeString(scope.resolve("cgroup.procs"), Long.toString(pid));
    RealPrograms.await(
        "the leaker",
        Duration.ofSeconds(60),
        () -> programs.log("leaker").contains("leaking towards"),
        () -> programs.log("leaker"));

    RealPrograms.await(
        "the page",
        Duration.ofSeconds(180),
        () -> !stack.notificationsAbout("pid", Long.toString(pid)).isEmpty(),
        () -> "\nagent:\n" + programs.log("agent") + "\nreceived: " + stack.receiver().requests());
    JsonNode alert = stack.notificationsAbout("pid", Long.toString(pid)).getFirst().at("/alerts/0");
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
    RealPrograms.await(
        "the leaker to close",
        Duration.ofSeconds(30),
        () -> programs.log("leaker").contains("closed "),
        () -> programs.log("leaker"));
    RealPrograms.await(
        "the resolution",
        Duration.ofSeconds(120),
        () ->
            PagingStack.count(stack.notificationsAbout("pid", Long.toString(pid)), "resolved") > 0,
        () -> "\nreceived: " + stack.receiver().requests());
    List<JsonNode> pages = stack.notificationsAbout("pid", Long.toString(pid));
    assertThat(PagingStack.count(pages, "firing")).as("firing pages: %s", pages).isEqualTo(1);
    assertThat(PagingStack.count(pages, "resolved")).as("resolved pages: %s", pages).isEqualTo(1);
  }

  private static JsonNode get(String url) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(url + ": " + r.body()).isEqualTo(200);
    return PagingStack.parse(r.body());
  }
}
