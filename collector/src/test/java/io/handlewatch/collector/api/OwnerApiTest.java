package io.handlewatch.collector.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.ApiExtension;
import io.handlewatch.collector.testing.FixedDetection;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.collector.testing.OpenApiSchemas;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.TcpReader;
import io.handlewatch.proto.v1.TcpStateCounts;
import jakarta.ws.rs.client.WebTarget;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The namespace=, pod=, unit= and label= filters of /api/v1/hosts and /api/v1/alerts, and the host
 * view's grouping by owner and per-namespace counts, over hosts whose reports carry identities.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class OwnerApiTest {
  static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
  static final MutableClock clock = new MutableClock(NOW);
  static final MemoryStore store =
      new MemoryStore(64L << 20, Duration.ofHours(6), clock, new MetricRegistry());
  static final FixedDetection detection = new FixedDetection();
  static final ResourceExtension API = ApiExtension.over(store, detection, clock);

  static final ProcessIdentity CHECKOUT =
      ProcessIdentity.newBuilder()
          .setCgroup("/kubepods/burstable/pod1/c1")
          .setRuntime("containerd")
          .setContainerId("c1c1c1c1c1c1c1c1")
          .setPodNamespace("shop")
          .setPodName("checkout-1")
          .setContainerName("api")
          .build();
  static final ProcessIdentity NGINX =
      ProcessIdentity.newBuilder()
          .setCgroup("/system.slice/nginx.service")
          .setSystemdUnit("nginx.service")
          .build();

  @BeforeAll
  static void writeHosts() throws Exception {
    HostReport node = TestReports.report("k8s-node-1", 1, NOW.minusSeconds(5));
    var s = node.getSample().toBuilder();
    s.getHostBuilder().putLabels("env", "prod").putLabels("cluster", "eu-1");
    s.getProcessesBuilder(0).setIdentity(CHECKOUT);
    s.getProcessesBuilder(1).setIdentity(NGINX);
    s.getTcpBuilder()
        .addNamespaces(
            NamespaceSockets.newBuilder()
                .setInode(4026531840L)
                .setHost(true)
                .setReader(TcpReader.TCP_READER_NETLINK)
                .setProcesses(90)
                .setCounts(TcpStateCounts.newBuilder().setListen(3)))
        .addNamespaces(
            NamespaceSockets.newBuilder()
                .setInode(4026532174L)
                .setReader(TcpReader.TCP_READER_PROC)
                .setProcesses(2)
                .setPid(4242)
                .setOwner(CHECKOUT.toBuilder().clearContainerName())
                .setCounts(TcpStateCounts.newBuilder().setCloseWait(60).setEstablished(4)));
    store.write(node.toBuilder().setSample(s).build()).get(30, TimeUnit.SECONDS);
    HostReport plain = TestReports.report("plain-2", 1, NOW.minusSeconds(5));
    var p = plain.getSample().toBuilder();
    p.getHostBuilder().putLabels("env", "staging");
    store.write(plain.toBuilder().setSample(p).build()).get(30, TimeUnit.SECONDS);

    detection.alerts.add(
        alert(
            "k8s-node-1",
            Map.of("namespace", "shop", "pod", "checkout-1", "container", "api", "env", "prod")));
    detection.alerts.add(alert("plain-2", Map.of("unit", "nginx.service", "env", "staging")));
  }

  static Alert alert(String host, Map<String, String> extra) {
    Map<String, String> l = new java.util.HashMap<>(extra);
    l.put("alertname", "HandlewatchCloseWaitGrowth");
    l.put("host", host);
    l.put("severity", "warning");
    return new Alert(
        Alert.Status.FIRING,
        host + "/close_wait/java[4242]",
        l,
        Map.of("summary", "s"),
        NOW,
        null,
        NOW);
  }

  static JsonNode get(String path, String... query) {
    WebTarget t = API.target(path);
    for (int i = 0; i < query.length; i += 2) t = t.queryParam(query[i], query[i + 1]);
    Response r = t.request().get();
    assertThat(r.getStatus()).as("%s %s", path, List.of(query)).isEqualTo(200);
    return r.readEntity(JsonNode.class);
  }

  static List<String> hosts(String... query) {
    List<String> out = new ArrayList<>();
    get("/v1/hosts", query).get("hosts").forEach(h -> out.add(h.get("host").asText()));
    return out;
  }

  static List<String> alertHosts(String... query) {
    List<String> out = new ArrayList<>();
    get("/v1/alerts", query).get("alerts").forEach(a -> out.add(a.get("host").asText()));
    return out;
  }

  @Test
  void hostsFilterByNamespacePodUnitAndLabel() {
    assertThat(hosts()).containsExactly("k8s-node-1", "plain-2");
    assertThat(hosts("namespace", "shop")).containsExactly("k8s-node-1");
    assertThat(hosts("namespace", "billing")).isEmpty();
    assertThat(hosts("pod", "checkout-1")).containsExactly("k8s-node-1");
    assertThat(hosts("namespace", "shop", "pod", "checkout-1")).containsExactly("k8s-node-1");
    assertThat(hosts("namespace", "shop", "unit", "nginx.service"))
        .as("both must hold for one owner")
        .isEmpty();
    assertThat(hosts("unit", "nginx.service")).containsExactly("k8s-node-1");
    assertThat(hosts("label", "env=prod")).containsExactly("k8s-node-1");
    assertThat(hosts("label", "env=staging")).containsExactly("plain-2");
    assertThat(hosts("label", "env=prod", "label", "cluster=eu-2")).isEmpty();
    assertThat(get("/v1/hosts", "label", "env=prod").at("/hosts/0/labels/cluster").asText())
        .isEqualTo("eu-1");
  }

  @Test
  void alertsFilterByTheirLabels() {
    assertThat(alertHosts("namespace", "shop")).containsExactly("k8s-node-1");
    assertThat(alertHosts("pod", "checkout-1")).containsExactly("k8s-node-1");
    assertThat(alertHosts("unit", "nginx.service")).containsExactly("plain-2");
    assertThat(alertHosts("label", "env=staging")).containsExactly("plain-2");
    assertThat(alertHosts("namespace", "billing")).isEmpty();
  }

  @Test
  void aBadLabelFilterIsA400NamingIt() {
    Response r = API.target("/v1/hosts").queryParam("label", "env").request().get();
    assertThat(r.getStatus()).isEqualTo(400);
    assertThat(r.readEntity(JsonNode.class).get("parameter").asText()).isEqualTo("label");
  }

  @Test
  void theHostViewGroupsByOwnerAndListsNamespaces() throws Exception {
    JsonNode h = get("/v1/hosts/k8s-node-1");
    JsonNode owners = h.get("owners");
    List<String> names = new ArrayList<>();
    owners.forEach(o -> names.add(o.at("/owner/name").asText()));
    assertThat(names).containsExactlyInAnyOrder("checkout-1/api", "unit nginx.service");
    JsonNode pod = owners.get(names.indexOf("checkout-1/api"));
    assertThat(pod.at("/owner/namespace").asText()).isEqualTo("shop");
    assertThat(pod.at("/pids/0").asLong()).isEqualTo(4242);
    assertThat(h.at("/processes/0/owner/name").asText()).isNotEmpty();
    JsonNode ns = h.get("namespaces");
    assertThat(ns).hasSize(2);
    assertThat(ns.at("/0/host").asBoolean()).isTrue();
    assertThat(ns.at("/1/reader").asText()).isEqualTo("proc");
    assertThat(ns.at("/1/tcp/close_wait").asLong()).isEqualTo(60);
    assertThat(ns.at("/1/owner/name").asText()).isEqualTo("checkout-1");
    assertThat(OpenApiSchemas.errors("HostDetail", h)).isEmpty();
    assertThat(OpenApiSchemas.errors("Fleet", get("/v1/hosts", "label", "env=prod"))).isEmpty();
  }
}
