package io.handlewatch.collector.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The REST API and the admin tasks behind bearer tokens: 401, 403 and 200. */
@ExtendWith(DropwizardExtensionsSupport.class)
class ApiAuthTest {
  private static final String API_TOKEN = "api-token-0123456789abcdef";
  private static final String HASHED_API_TOKEN = "second-api-token-0123456789";
  private static final String ADMIN_TOKEN = "admin-token-0123456789abcdef";

  static final DropwizardAppExtension<CollectorConfiguration> SECURED =
      new DropwizardAppExtension<>(
          CollectorApplication.class, ResourceHelpers.resourceFilePath("test-api-auth.yml"));

  static final DropwizardAppExtension<CollectorConfiguration> DEFAULTS =
      new DropwizardAppExtension<>(
          CollectorApplication.class, ResourceHelpers.resourceFilePath("test-memory.yml"));

  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<String> send(String method, String url, String token) throws Exception {
    var b = HttpRequest.newBuilder(URI.create(url));
    if (token != null) b.header("Authorization", "Bearer " + token);
    b.method(method, HttpRequest.BodyPublishers.noBody());
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String api(DropwizardAppExtension<?> app, String path) {
    return "http://127.0.0.1:" + app.getLocalPort() + path;
  }

  private static String admin(DropwizardAppExtension<?> app, String path) {
    return "http://127.0.0.1:" + app.getAdminPort() + path;
  }

  @Test
  void theApiNeedsOneOfItsTokens() throws Exception {
    var none = send("GET", api(SECURED, "/api/v1/hosts"), null);
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate"))
        .contains("Bearer realm=\"handlewatch\"");
    assertThat(none.body()).contains("needs a bearer token");

    assertThat(send("GET", api(SECURED, "/api/v1/hosts"), "wrong-token-0123456789").statusCode())
        .isEqualTo(401);
    assertThat(send("GET", api(SECURED, "/api/v1/hosts/x"), ADMIN_TOKEN).statusCode())
        .as("an admin token is not an API token")
        .isEqualTo(403);

    var ok = send("GET", api(SECURED, "/api/v1/hosts"), API_TOKEN);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).contains("hosts");
    assertThat(send("GET", api(SECURED, "/api/v1/hosts"), HASHED_API_TOKEN).statusCode())
        .as("a token configured as its sha256")
        .isEqualTo(200);
  }

  @Test
  void adminTasksNeedAnAdminToken() throws Exception {
    assertThat(send("POST", admin(SECURED, "/tasks/gc"), null).statusCode()).isEqualTo(401);
    assertThat(send("POST", admin(SECURED, "/tasks/gc"), API_TOKEN).statusCode())
        .as("an API token may not run tasks")
        .isEqualTo(403);
    assertThat(send("POST", admin(SECURED, "/tasks/gc"), ADMIN_TOKEN).statusCode()).isEqualTo(200);
    // Metrics and health checks stay readable on the (loopback) admin port.
    assertThat(send("GET", admin(SECURED, "/healthcheck"), null).statusCode()).isEqualTo(200);
  }

  @Test
  void withoutConfiguredTokensTheApiIsOpenAndTasksAreRefused() throws Exception {
    assertThat(send("GET", api(DEFAULTS, "/api/v1/hosts"), null).statusCode()).isEqualTo(200);
    var task = send("POST", admin(DEFAULTS, "/tasks/gc"), null);
    assertThat(task.statusCode()).isEqualTo(403);
    assertThat(task.body()).contains("admin tasks are disabled").contains("api.auth.adminTokens");
    assertThat(
            send("POST", admin(DEFAULTS, "/tasks/log-level"), "anything-0123456789abc")
                .statusCode())
        .isEqualTo(403);
  }
}
