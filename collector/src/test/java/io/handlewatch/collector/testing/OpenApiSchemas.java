package io.handlewatch.collector.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialects;
import io.handlewatch.collector.api.OpenApiResource;
import java.util.List;

/** Validates an API answer against a schema of the collector's OpenAPI description. */
public final class OpenApiSchemas {
  private static final SchemaRegistry schemas = SchemaRegistry.withDialect(Dialects.getOpenApi31());

  private OpenApiSchemas() {}

  /**
   * What is wrong with {@code answer} against {@code #/components/schemas/NAME}; empty if valid.
   */
  public static List<Error> errors(String schema, JsonNode answer) {
    Schema s =
        schemas.getSchema(
            SchemaLocation.of(
                "classpath:"
                    + OpenApiResource.RESOURCE.substring(1)
                    + "#/components/schemas/"
                    + schema));
    return s.validate(answer);
  }
}
