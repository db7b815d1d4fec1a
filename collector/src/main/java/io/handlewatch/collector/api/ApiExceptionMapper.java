package io.handlewatch.collector.api;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/** Answers an {@link ApiException} with its status and a JSON {@link ApiError}. */
@Provider
public final class ApiExceptionMapper implements ExceptionMapper<ApiException> {
  @Override
  public Response toResponse(ApiException e) {
    return Response.status(e.status()).type(MediaType.APPLICATION_JSON).entity(e.body()).build();
  }
}
