package io.handlewatch.collector.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.Error;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import io.handlewatch.collector.detect.Kind;
import io.handlewatch.collector.detect.Severity;
import io.handlewatch.collector.store.Aggregation;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.ApiExtension;
import io.handlewatch.collector.testing.FixedDetection;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.collector.testing.OpenApiSchemas;
import io.handlewatch.collector.testing.TestFleet;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.client.WebTarget;
import jakarta.ws.rs.core.Response;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The hand-written OpenAPI description holds to the implementation: the same paths and parameters
 * as the JAX-RS resources, the same enums as the code, and every kind of answer the API gives
 * (fleet, host, series, alerts, drift, errors) valid against its schema, unknown properties
 * refused.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class OpenApiConsistencyTest {
  static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
  static final MutableClock clock = new MutableClock(NOW);
  static final MemoryStore store =
      new MemoryStore(64L << 20, Duration.ofHours(6), clock, new MetricRegistry());
  static final FixedDetection detection = new FixedDetection();
  static final List<Object> resources = new ApiFactory().resources(store, detection, clock);
  static final ResourceExtension API = ApiExtension.over(store, detection, clock);
  static final ObjectMapper JSON = new ObjectMapper();
  static JsonNode spec;

  @BeforeAll
  static void load() throws Exception {
    TestFleet.write(store, NOW);
    TestFleet.detect(detection, NOW);
    try (InputStream in = OpenApiResource.class.getResourceAsStream(OpenApiResource.RESOURCE)) {
      spec = new ObjectMapper(new YAMLFactory()).readTree(in);
    }
  }

  /** Path → (query and path parameter names) of every GET the resources serve. */
  private static Map<String, TreeSet<String>> implemented() {
    Map<String, TreeSet<String>> out = new TreeMap<>();
    for (Object r : resources) {
      Path root = r.getClass().getAnnotation(Path.class);
      if (root == null) continue;
      for (Method m : r.getClass().getMethods()) {
        if (!m.isAnnotationPresent(GET.class)) continue;
        Path sub = m.getAnnotation(Path.class);
        String path = root.value() + (sub == null ? "" : sub.value());
        TreeSet<String> params = new TreeSet<>();
        for (Parameter p : m.getParameters()) {
          if (p.isAnnotationPresent(QueryParam.class)) {
            params.add("query:" + p.getAnnotation(QueryParam.class).value());
          }
          if (p.isAnnotationPresent(PathParam.class)) {
            params.add("path:" + p.getAnnotation(PathParam.class).value());
          }
        }
        out.put(path, params);
      }
    }
    return out;
  }

  private static JsonNode resolve(JsonNode node) {
    JsonNode ref = node.get("$ref");
    if (ref == null) return node;
    return spec.at(ref.asText().substring(1));
  }

  /** Path → parameter names of every operation the description lists (all of them GETs). */
  private static Map<String, TreeSet<String>> described() {
    Map<String, TreeSet<String>> out = new TreeMap<>();
    spec.get("paths")
        .properties()
        .forEach(
            e -> {
              assertThat(e.getValue().properties())
                  .as("%s: only GET", e.getKey())
                  .extracting(Map.Entry::getKey)
                  .containsExactly("get");
              TreeSet<String> params = new TreeSet<>();
              for (JsonNode p : e.getValue().at("/get/parameters")) {
                JsonNode param = resolve(p);
                params.add(param.get("in").asText() + ":" + param.get("name").asText());
              }
              out.put(e.getKey(), params);
            });
    return out;
  }

  @Test
  void pathsAndParametersMatchTheResources() {
    assertThat(described()).isEqualTo(implemented());
    assertThat(spec.at("/servers/0/url").asText() + "/*").isEqualTo(ApiFactory.URL_PATTERN);
  }

  private static List<String> enumOf(String schema) {
    List<String> values = new ArrayList<>();
    for (JsonNode v : spec.at("/components/schemas/" + schema + "/enum")) values.add(v.asText());
    return values;
  }

  private static List<String> queryEnum(String path, String param) {
    for (JsonNode p : spec.at("/paths/" + path.replace("/", "~1") + "/get/parameters")) {
      JsonNode s = resolve(p);
      if (s.get("name").asText().equals(param)) {
        JsonNode schema = s.get("schema");
        JsonNode e = schema.has("items") ? schema.at("/items/enum") : schema.get("enum");
        List<String> values = new ArrayList<>();
        for (JsonNode v : e) values.add(v.asText());
        return values;
      }
    }
    throw new AssertionError("no parameter " + param + " on " + path);
  }

  @Test
  void enumsMatchTheCode() {
    assertThat(enumOf("MetricName")).isEqualTo(MetricCatalog.names());
    assertThat(enumOf("Status")).isEqualTo(HostStatus.names());
    assertThat(enumOf("Severity"))
        .isEqualTo(Severity.inForce().stream().map(Severity::label).toList());
    assertThat(enumOf("VerdictKind"))
        .isEqualTo(Arrays.stream(Kind.values()).filter(Kind::pages).map(Kind::tag).toList());
    assertThat(enumOf("FindingCode"))
        .isEqualTo(Arrays.stream(Kind.values()).filter(k -> !k.pages()).map(Kind::tag).toList());
    assertThat(queryEnum("/v1/hosts", "sort")).isEqualTo(FleetQuery.sortNames());
    assertThat(queryEnum("/v1/hosts", "status")).isEqualTo(HostStatus.names());
    assertThat(queryEnum("/v1/hosts/{host}/series", "agg"))
        .isEqualTo(
            Arrays.stream(Aggregation.values())
                .map(a -> a.name().toLowerCase(Locale.ROOT))
                .toList());
  }

  private static JsonNode get(int status, String path, String... query) throws Exception {
    WebTarget t = API.target(path);
    for (int i = 0; i < query.length; i += 2) t = t.queryParam(query[i], query[i + 1]);
    Response r = t.request().get();
    String body = r.readEntity(String.class);
    assertThat(r.getStatus()).as(body).isEqualTo(status);
    return JSON.readTree(body);
  }

  private static List<Error> errors(String schema, JsonNode answer) {
    return OpenApiSchemas.errors(schema, answer);
  }

  private static void assertValid(String schema, JsonNode answer) {
    assertThat(errors(schema, answer)).as("%s against %s", answer, schema).isEmpty();
  }

  @Test
  void everyAnswerIsValidAgainstItsSchema() throws Exception {
    JsonNode fleet = get(200, "/v1/hosts", "limit", "3");
    assertThat(fleet.has("next_offset")).isTrue();
    assertValid("Fleet", fleet);
    assertValid("Fleet", get(200, "/v1/hosts", "q", "edge")); // a host without TCP counts
    assertValid("HostDetail", get(200, "/v1/hosts/db-d")); // verdicts, alerts, findings, drift
    assertValid("HostDetail", get(200, "/v1/hosts/edge-f"));
    assertValid(
        "Series",
        get(200, "/v1/hosts/api-a/series", "metric", "process.fds", "from", "-2m", "step", "10s"));
    assertValid("Alerts", get(200, "/v1/alerts"));
    assertValid("SysctlDriftList", get(200, "/v1/sysctl-drift"));
    assertValid("Error", get(400, "/v1/hosts/api-a/series", "metric", "nope"));
    assertValid("Error", get(404, "/v1/hosts/nowhere"));
  }

  @Test
  void theSchemasRefuseWhatTheApiDoesNotSend() throws Exception {
    ObjectNode fleet = (ObjectNode) get(200, "/v1/hosts");
    ((ObjectNode) fleet.get("hosts").get(0)).put("cpu_percent", 12);
    assertThat(errors("Fleet", fleet)).as("an undeclared host property").isNotEmpty();

    ObjectNode host = (ObjectNode) get(200, "/v1/hosts/db-d");
    host.remove("processes");
    assertThat(errors("HostDetail", host)).as("a missing required property").isNotEmpty();
    host = (ObjectNode) get(200, "/v1/hosts/db-d");
    host.put("status", "fine");
    assertThat(errors("HostDetail", host)).as("a status outside the enum").isNotEmpty();
  }

  @Test
  void theDescriptionIsServedAsYamlAndJson() throws Exception {
    Response yaml = API.target("/v1/openapi.yaml").request().get();
    assertThat(yaml.getStatus()).isEqualTo(200);
    assertThat(yaml.getMediaType().toString()).startsWith("application/yaml");
    assertThat(yaml.readEntity(String.class)).startsWith("openapi: 3.1.0");
    assertThat(get(200, "/v1/openapi.json")).isEqualTo(spec);
  }
}
