package io.handlewatch.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.CollectorConfiguration;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/kubernetes for shape: the agent DaemonSet sees the host (PID, network, /proc read-only)
 * with two capabilities, runs on every node, keeps its spool on the node and is bounded; the
 * collector runs two or more replicas behind a Service with probes on its admin health check; the
 * ConfigMap'd collector configuration and the agent's arguments pass the programs' own checks; and
 * every ConfigMap and Secret a pod mounts is defined or documented.
 */
class KubernetesManifestsTest {
  static final Path DIR = DeployFiles.DEPLOY.resolve("kubernetes");

  @TempDir static Path dir;
  static List<JsonNode> objects;

  @BeforeAll
  static void read() throws IOException {
    objects = new ArrayList<>();
    try (Stream<Path> files = Files.list(DIR)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        objects.addAll(DeployFiles.documents(f));
      }
    }
  }

  static JsonNode object(String kind, String name) {
    return find(kind, name).orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  static Optional<JsonNode> find(String kind, String name) {
    return objects.stream()
        .filter(o -> o.path("kind").asText().equals(kind))
        .filter(o -> o.path("metadata").path("name").asText().equals(name))
        .findFirst();
  }

  static JsonNode pod(String kind, String name) {
    return object(kind, name).get("spec").get("template").get("spec");
  }

  static JsonNode container(JsonNode pod, String name) {
    for (JsonNode c : pod.get("containers")) if (c.get("name").asText().equals(name)) return c;
    throw new AssertionError("no container " + name);
  }

  @Test
  void everyObjectIsWellFormed() {
    assertThat(objects).isNotEmpty();
    for (JsonNode o : objects) {
      if (o.path("kind").asText().equals("Kustomization")) continue;
      assertThat(o.path("apiVersion").asText()).as(o.toString()).isNotBlank();
      assertThat(o.path("metadata").path("name").asText()).as(o.toString()).isNotBlank();
    }
  }

  @Test
  void agentSeesTheHost() {
    JsonNode pod = pod("DaemonSet", "handlewatch-agent");
    assertThat(pod.path("hostPID").asBoolean()).isTrue();
    assertThat(pod.path("hostNetwork").asBoolean()).isTrue();
    assertThat(pod.path("dnsPolicy").asText()).isEqualTo("ClusterFirstWithHostNet");
    JsonNode agent = container(pod, "agent");
    JsonNode procMount = mount(agent, "/host/proc");
    assertThat(procMount.path("readOnly").asBoolean()).isTrue();
    assertThat(volume(pod, procMount.get("name").asText()).path("hostPath").path("path").asText())
        .isEqualTo("/proc");
    assertThat(DeployFiles.texts(agent.get("args"))).containsSequence("--proc-root", "/host/proc");
  }

  @Test
  void agentHasThreeCapabilitiesAndNothingElse() {
    JsonNode sc = container(pod("DaemonSet", "handlewatch-agent"), "agent").get("securityContext");
    assertThat(sc.path("privileged").asBoolean(false)).isFalse();
    assertThat(sc.path("allowPrivilegeEscalation").asBoolean(true)).isFalse();
    assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(DeployFiles.texts(sc.path("capabilities").path("drop"))).containsExactly("ALL");
    // SETUID and SETGID only let the entrypoint switch to uid 65532 keeping the other three
    // (UnprivilegedAgentIT runs that entrypoint): the agent process itself is not root. SYS_ADMIN
    // is for setns into the pods' network namespaces.
    assertThat(DeployFiles.texts(sc.path("capabilities").path("add")))
        .containsExactlyInAnyOrder(
            "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_ADMIN", "SETUID", "SETGID");
  }

  @Test
  void agentSeesEveryNamespaceAndWhoOwnsItReadOnly() {
    JsonNode pod = pod("DaemonSet", "handlewatch-agent");
    JsonNode agent = container(pod, "agent");
    assertThat(DeployFiles.texts(agent.get("args"))).containsSequence("--host-root", "/host");
    for (String host :
        List.of(
            "/run/netns",
            "/run/containerd/io.containerd.runtime.v2.task",
            "/run/containers/storage/overlay-containers",
            "/var/lib/kubelet/pods")) {
      JsonNode m = mount(agent, "/host" + host);
      assertThat(m.path("readOnly").asBoolean()).as(host).isTrue();
      // Namespaces and pods made after the agent started must show up inside it.
      assertThat(m.path("mountPropagation").asText()).as(host).isEqualTo("HostToContainer");
      assertThat(volume(pod, m.get("name").asText()).path("hostPath").path("path").asText())
          .isEqualTo(host);
    }
  }

  @Test
  void agentRunsOnEveryNodeBoundedAndKeepsItsSpoolOnTheNode() {
    JsonNode pod = pod("DaemonSet", "handlewatch-agent");
    assertThat(pod.get("tolerations"))
        .anySatisfy(
            t -> {
              assertThat(t.path("operator").asText()).isEqualTo("Exists");
              assertThat(t.has("key")).as("no key: every taint").isFalse();
              assertThat(t.has("effect")).as("no effect: every effect").isFalse();
            });
    JsonNode agent = container(pod, "agent");
    assertResourcesSet(agent);
    assertThat(agent.get("resources").get("limits").get("memory").asText()).isEqualTo("128Mi");
    JsonNode state = mount(agent, "/var/lib/handlewatch-agent");
    assertThat(volume(pod, state.get("name").asText()).path("hostPath").path("path").asText())
        .isEqualTo("/var/lib/handlewatch-agent");
    assertThat(DeployFiles.texts(agent.get("args")))
        .containsSequence("--state-dir", "/var/lib/handlewatch-agent");
    // The init container hands the node directory to the agent's user, with CHOWN only.
    JsonNode init = pod.get("initContainers").get(0);
    assertThat(DeployFiles.texts(init.get("securityContext").get("capabilities").get("add")))
        .containsExactly("CHOWN");
    assertThat(String.join(" ", DeployFiles.texts(init.get("command")))).contains("65532:65532");
    assertResourcesSet(init);
    // /tmp is the only other writable place (the root file system is read-only).
    assertThat(volume(pod, mount(agent, "/tmp").get("name").asText()).has("emptyDir")).isTrue();
  }

  @Test
  void anInitContainerGivesPodsMadeLaterTcpHashTablesOfTheirOwnWithoutPrivileges()
      throws IOException {
    JsonNode pod = pod("DaemonSet", "handlewatch-agent");
    JsonNode init = initContainer(pod, "tcp-hash-tables");
    JsonNode sc = init.get("securityContext");
    // uid 0 writing the node's /proc/sys needs no capability, only a writable /proc.
    assertThat(sc.path("privileged").asBoolean(true)).isFalse();
    assertThat(sc.path("allowPrivilegeEscalation").asBoolean(true)).isFalse();
    assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(DeployFiles.texts(sc.path("capabilities").path("drop"))).containsExactly("ALL");
    assertThat(sc.path("capabilities").has("add")).isFalse();
    assertResourcesSet(init);
    // The node's /proc, writable in this container only; the agent's stays read-only.
    JsonNode proc = mount(init, "/host/proc");
    assertThat(proc.path("readOnly").asBoolean(false)).isFalse();
    assertThat(volume(pod, proc.get("name").asText()).at("/hostPath/path").asText())
        .isEqualTo("/proc");
    assertThat(mount(container(pod, "agent"), "/host/proc").path("readOnly").asBoolean()).isTrue();
    // Off unless the operator turns it on: it changes every later pod's TCP limits.
    assertThat(env(init, "TCP_CHILD_EHASH_ENTRIES")).isEmpty();
    // The value the manifest offers: a power of two the kernel takes as it is (it rounds others
    // up), the one the docs explain.
    String value = recommendedValue();
    long n = Long.parseLong(value);
    assertThat(Long.bitCount(n)).as(value).isEqualTo(1);
    assertThat(n).isBetween(1024L, 1L << 24);
    assertThat(Files.readString(DeployFiles.ROOT.resolve("docs/operations.md")))
        .contains("net.ipv4.tcp_child_ehash_entries = " + value)
        .contains("TCP_CHILD_EHASH_ENTRIES");
    // The manifest says why, that it only reaches pods made afterwards, and how to turn it off.
    assertThat(Files.readString(DIR.resolve("agent.yaml")))
        .contains("only affects namespaces (pods) made afterwards")
        .contains("Off by default");
  }

  /** The value the manifest's "TURN ON" comment offers. */
  static String recommendedValue() throws IOException {
    Matcher m =
        Pattern.compile("TURN ON: set TCP_CHILD_EHASH_ENTRIES to \"(\\d+)\"")
            .matcher(Files.readString(DIR.resolve("agent.yaml")));
    assertThat(m.find()).as("agent.yaml offers a value to turn it on").isTrue();
    return m.group(1);
  }

  @Test
  void theInitContainersScriptSetsOnlyAnUnsetValueAndNeverStopsTheAgent() throws Exception {
    JsonNode init = initContainer(pod("DaemonSet", "handlewatch-agent"), "tcp-hash-tables");
    List<String> command = DeployFiles.texts(init.get("command"));
    assertThat(command.subList(0, 2)).containsExactly("/bin/sh", "-c");
    String value = recommendedValue();
    Path proc = dir.resolve("proc");
    Path file = proc.resolve("sys/net/ipv4/tcp_child_ehash_entries");
    String script = command.get(2).replace("/host/proc", proc.toString());

    Files.createDirectories(file.getParent());
    Files.writeString(file, "0\n");
    assertThat(runScript(script, value)).contains("0 -> " + value);
    assertThat(Files.readString(file).strip()).isEqualTo(value);

    Files.writeString(file, "4096\n");
    assertThat(runScript(script, value)).contains("already 4096, left alone");
    assertThat(Files.readString(file).strip()).as("the operator's own value").isEqualTo("4096");

    Files.writeString(file, "0\n");
    assertThat(runScript(script, "")).contains("left alone");
    assertThat(Files.readString(file).strip()).as("turned off").isEqualTo("0");

    Files.delete(file);
    assertThat(runScript(script, value)).contains("kernel before 6.1");
  }

  /** Runs the init container's script with {@code TCP_CHILD_EHASH_ENTRIES}; it must exit 0. */
  static String runScript(String script, String value) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true);
    pb.environment().put("TCP_CHILD_EHASH_ENTRIES", value);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  static JsonNode initContainer(JsonNode pod, String name) {
    for (JsonNode c : pod.get("initContainers")) if (c.get("name").asText().equals(name)) return c;
    throw new AssertionError("no init container " + name);
  }

  static String env(JsonNode container, String name) {
    for (JsonNode e : container.get("env")) {
      if (e.get("name").asText().equals(name)) return e.get("value").asText();
    }
    throw new AssertionError(container.get("name") + " has no " + name);
  }

  @Test
  void agentArgumentsAndPropertiesParse() throws Exception {
    JsonNode pod = pod("DaemonSet", "handlewatch-agent");
    JsonNode agent = container(pod, "agent");
    assertThat(agent.get("env"))
        .anySatisfy(
            e -> {
              assertThat(e.get("name").asText()).isEqualTo("NODE_NAME");
              assertThat(e.at("/valueFrom/fieldRef/fieldPath").asText()).isEqualTo("spec.nodeName");
            });
    // The properties file as the ConfigMap mounts it, and $(NODE_NAME) as the kubelet expands it.
    Path props = dir.resolve("agent.properties");
    Files.writeString(
        props,
        object("ConfigMap", "handlewatch-agent-config")
            .get("data")
            .get("agent.properties")
            .asText());
    List<String> args = new ArrayList<>();
    for (String a : DeployFiles.texts(agent.get("args"))) {
      args.add(
          a.equals("/etc/handlewatch/agent.properties")
              ? props.toString()
              : a.replace("$(NODE_NAME)", "node-a"));
    }
    var parsed = AgentCommandCheck.parse(args);
    assertThat(parsed.subcommand().matchedOptionValue("--collector", ""))
        .isEqualTo("handlewatch-collector.handlewatch.svc:9400");
    assertThat(parsed.subcommand().matchedOptionValue("--host", "")).isEqualTo("node-a");
  }

  @Test
  void collectorRunsReplicatedBehindAService() {
    JsonNode deployment = object("Deployment", "handlewatch-collector");
    assertThat(deployment.get("spec").get("replicas").asInt()).isGreaterThanOrEqualTo(2);
    JsonNode pod = pod("Deployment", "handlewatch-collector");
    assertThat(pod.get("securityContext").get("runAsNonRoot").asBoolean()).isTrue();
    JsonNode c = container(pod, "collector");
    assertResourcesSet(c);
    assertThat(DeployFiles.texts(c.at("/securityContext/capabilities/drop")))
        .containsExactly("ALL");
    assertThat(c.at("/securityContext/capabilities/add").isMissingNode()).isTrue();
    assertThat(c.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();

    JsonNode service = object("Service", "handlewatch-collector");
    Map<Integer, String> ports = new HashMap<>();
    service
        .get("spec")
        .get("ports")
        .forEach(p -> ports.put(p.get("port").asInt(), p.get("name").asText()));
    assertThat(ports).containsEntry(9400, "grpc").containsEntry(8080, "http");
    assertThat(service.get("spec").get("selector"))
        .isEqualTo(deployment.get("spec").get("template").get("metadata").get("labels"));
    List<String> containerPorts = new ArrayList<>();
    c.get("ports").forEach(p -> containerPorts.add(p.get("name").asText()));
    assertThat(containerPorts).contains("grpc", "http");
  }

  @Test
  void collectorProbesAskTheAdminHealthCheck() {
    JsonNode c = container(pod("Deployment", "handlewatch-collector"), "collector");
    // Ready only when every health check passes (ingest, store); alive while it answers at all,
    // so an InfluxDB outage takes a replica out of the Service instead of restarting it.
    assertThat(DeployFiles.texts(c.at("/readinessProbe/exec/command")))
        .contains("http://127.0.0.1:8081/healthcheck");
    assertThat(DeployFiles.texts(c.at("/livenessProbe/exec/command")))
        .contains("http://127.0.0.1:8081/ping");
  }

  @Test
  void collectorConfigValidates() throws Exception {
    JsonNode c = container(pod("Deployment", "handlewatch-collector"), "collector");
    Map<String, String> env = new HashMap<>();
    c.get("env").forEach(e -> env.put(e.get("name").asText(), e.path("value").asText()));
    String yaml =
        object("ConfigMap", "handlewatch-collector-config")
            .get("data")
            .get("collector.yml")
            .asText();
    CollectorConfiguration config = CollectorConfigCheck.validate("collector.yml", yaml, env);
    assertThat(config.ingest.port).isEqualTo(9400);
    // The admin port is on the pod's address for Prometheus, and only the monitoring namespace
    // may reach it.
    var server = (io.dropwizard.core.server.DefaultServerFactory) config.getServerFactory();
    var admin = (io.dropwizard.jetty.HttpConnectorFactory) server.getAdminConnectors().getFirst();
    assertThat(admin.getBindHost()).isEqualTo("0.0.0.0");
    assertThat(admin.getPort()).isEqualTo(8081);
    JsonNode policy = object("NetworkPolicy", "handlewatch-collector");
    assertThat(policy.at("/spec/podSelector/matchLabels"))
        .isEqualTo(object("Deployment", "handlewatch-collector").at("/spec/selector/matchLabels"));
    int adminRules = 0;
    for (JsonNode rule : policy.at("/spec/ingress")) {
      if (rule.at("/ports").toString().contains("\"admin\"")) {
        adminRules++;
        assertThat(rule.at("/from/0/namespaceSelector/matchLabels").toString())
            .as("the admin port's rule")
            .contains("monitoring");
      }
    }
    assertThat(adminRules).as("rules naming the admin port").isEqualTo(1);
    // The TLS files it names are where the Secret is mounted.
    assertThat(yaml)
        .contains("certFile: " + mount(c, "/etc/handlewatch/tls").get("mountPath").asText());
  }

  @Test
  void podMonitorsScrapeNamedPortsOfTheRightPods() throws Exception {
    Map<String, String[]> expected =
        Map.of(
            "handlewatch-collector",
                new String[] {"Deployment", "collector", "admin", "/prometheus"},
            "handlewatch-agent", new String[] {"DaemonSet", "agent", "metrics", "/metrics"});
    for (var e : expected.entrySet()) {
      JsonNode monitor = object("PodMonitor", e.getKey());
      String[] want = e.getValue();
      JsonNode workload = object(want[0], e.getKey());
      assertThat(monitor.at("/spec/selector/matchLabels"))
          .as(e.getKey())
          .isEqualTo(workload.at("/spec/selector/matchLabels"));
      JsonNode endpoint = monitor.at("/spec/podMetricsEndpoints/0");
      assertThat(endpoint.get("port").asText()).isEqualTo(want[2]);
      assertThat(endpoint.get("path").asText()).isEqualTo(want[3]);
      JsonNode c = container(pod(want[0], e.getKey()), want[1]);
      List<String> ports = new ArrayList<>();
      c.get("ports").forEach(p -> ports.add(p.get("name").asText()));
      assertThat(ports).as(e.getKey() + " container ports").contains(want[2]);
    }
    // The agent serves what the PodMonitor scrapes, on the port it names.
    JsonNode agent = container(pod("DaemonSet", "handlewatch-agent"), "agent");
    List<String> args = DeployFiles.texts(agent.get("args"));
    assertThat(args.get(args.indexOf("--metrics-address") + 1)).endsWith(":9401");
    assertThat(agent.at("/ports/0/containerPort").asInt()).isEqualTo(9401);
    // The operator's CRDs may be missing: the PodMonitors are applied on their own.
    assertThat(DeployFiles.texts(object("Kustomization", "").path("resources")))
        .doesNotContain("podmonitor.yaml");
  }

  @Test
  void everyMountedConfigMapAndSecretIsDefinedOrDocumented() throws IOException {
    List<JsonNode> examples = DeployFiles.documents(DIR.resolve("secrets.example.yaml"));
    List<String> missing = new ArrayList<>();
    for (String[] workload :
        new String[][] {
          {"DaemonSet", "handlewatch-agent"}, {"Deployment", "handlewatch-collector"}
        }) {
      for (JsonNode v : pod(workload[0], workload[1]).get("volumes")) {
        if (v.has("configMap") && find("ConfigMap", v.at("/configMap/name").asText()).isEmpty()) {
          missing.add(workload[1] + ": ConfigMap " + v.at("/configMap/name").asText());
        }
        if (v.has("secret")) {
          String name = v.at("/secret/secretName").asText();
          boolean documented =
              examples.stream().anyMatch(s -> s.at("/metadata/name").asText().equals(name));
          if (!documented) missing.add(workload[1] + ": Secret " + name);
        }
      }
    }
    assertThat(missing).isEmpty();
    // The example Secrets are not applied by the kustomization: placeholders must not go live.
    assertThat(DeployFiles.texts(object("Kustomization", "").path("resources")))
        .doesNotContain("secrets.example.yaml")
        .contains("collector.yaml", "agent.yaml");
  }

  static void assertResourcesSet(JsonNode container) {
    JsonNode r = container.get("resources");
    assertThat(r.at("/requests/cpu").asText())
        .as(container.get("name") + " cpu request")
        .isNotBlank();
    assertThat(r.at("/requests/memory").asText())
        .as(container.get("name") + " memory request")
        .isNotBlank();
    assertThat(r.at("/limits/memory").asText())
        .as(container.get("name") + " memory limit")
        .isNotBlank();
  }

  static JsonNode mount(JsonNode container, String path) {
    for (JsonNode m : container.get("volumeMounts")) {
      if (m.get("mountPath").asText().equals(path)) return m;
    }
    throw new AssertionError(container.get("name") + " mounts nothing at " + path);
  }

  static JsonNode volume(JsonNode pod, String name) {
    for (JsonNode v : pod.get("volumes")) if (v.get("name").asText().equals(name)) return v;
    throw new AssertionError("no volume " + name);
  }
}
