package io.handlewatch.collector.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The API's OpenAPI 3.1 description, {@code /api/v1/openapi.yaml} (as written) and {@code
 * /api/v1/openapi.json}. Written by hand beside the resources; {@code OpenApiConsistencyTest} holds
 * it to them.
 */
@Path("/v1")
public final class OpenApiResource {
  /** Where the description lives on the classpath. */
  public static final String RESOURCE = "/io/handlewatch/collector/api/openapi.yaml";

  private final String yaml;
  private final JsonNode json;

  public OpenApiResource() {
    try (InputStream in = OpenApiResource.class.getResourceAsStream(RESOURCE)) {
      if (in == null) throw new IllegalStateException(RESOURCE + " missing from the jar");
      yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      json = new ObjectMapper(new YAMLFactory()).readTree(yaml);
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + RESOURCE, e);
    }
  }

  @GET
  @Path("/openapi.yaml")
  @Produces("application/yaml")
  public String yaml() {
    return yaml;
  }

  @GET
  @Path("/openapi.json")
  @Produces("application/json")
  public JsonNode json() {
    return json;
  }
}
