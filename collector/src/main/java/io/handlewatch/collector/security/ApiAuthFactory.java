package io.handlewatch.collector.security;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.validation.ValidationMethod;
import jakarta.servlet.DispatcherType;
import jakarta.validation.constraints.NotNull;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * The {@code api.auth:} section. With {@code tokens} set, every request under {@code /api/} needs
 * {@code Authorization: Bearer TOKEN} for one of them; without, the API is open (put it behind your
 * own proxy, or on a private network). Admin tasks ({@code /tasks/*} on the admin port) are never
 * anonymous: they need one of {@code adminTokens}, and are refused (403) while there is none. A
 * token may be given as {@code sha256:HEX} of itself, so the configuration need not hold it.
 */
public class ApiAuthFactory {
  static final String TASKS_DISABLED =
      "admin tasks are disabled: list a token under api.auth.adminTokens in the configuration"
          + " and send it as Authorization: Bearer TOKEN";

  @NotNull @JsonProperty public List<String> tokens = List.of();

  @NotNull @JsonProperty public List<String> adminTokens = List.of();

  @ValidationMethod(
      message =
          "api.auth.tokens and api.auth.adminTokens: a token is 16 to 4096 printable ASCII"
              + " characters without spaces, or sha256: and 64 hex digits")
  public boolean isEveryTokenWellFormed() {
    try {
      digests(tokens);
      digests(adminTokens);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Puts the filters in front of {@code /api/*} and of the admin port's {@code /tasks/*}. */
  public void register(Environment env) {
    List<byte[]> api = digests(tokens);
    List<byte[]> admin = digests(adminTokens);
    if (!api.isEmpty()) {
      env.servlets()
          .addFilter("api-bearer-token", new BearerTokenFilter("the API", api, admin, null))
          .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, "/api/*");
    }
    env.admin()
        .addFilter(
            "admin-tasks-bearer-token",
            new BearerTokenFilter("admin tasks", admin, api, TASKS_DISABLED))
        .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, "/tasks/*");
  }

  private static List<byte[]> digests(List<String> values) {
    List<byte[]> out = new ArrayList<>();
    for (String v : values) out.add(TokenDigests.ofConfigured(v == null ? "" : v));
    return out;
  }
}
