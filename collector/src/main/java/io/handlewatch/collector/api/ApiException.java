package io.handlewatch.collector.api;

import java.util.List;

/**
 * A request the API cannot answer as asked: the status to send, the query or path parameter at
 * fault (if one is) and, where the parameter takes one of a fixed set, the values it accepts.
 * {@link ApiExceptionMapper} turns it into an {@link ApiError} body.
 */
public final class ApiException extends RuntimeException {
  private final int status;
  private final String parameter;
  private final List<String> allowed;

  public ApiException(int status, String parameter, String message, List<String> allowed) {
    super(message);
    this.status = status;
    this.parameter = parameter;
    this.allowed = List.copyOf(allowed);
  }

  /** A 400 about one parameter. */
  public static ApiException badParameter(String parameter, String message) {
    return new ApiException(400, parameter, message, List.of());
  }

  /** A 400 about a parameter that takes one of {@code allowed}. */
  public static ApiException notOneOf(String parameter, String given, List<String> allowed) {
    return new ApiException(
        400,
        parameter,
        parameter + " '" + given + "' is not one of " + String.join(", ", allowed),
        allowed);
  }

  public static ApiException unknownHost(String host) {
    return new ApiException(
        404, "host", "no reports from host '" + host + "': it is not in the fleet", List.of());
  }

  public int status() {
    return status;
  }

  public ApiError body() {
    return new ApiError(status, getMessage(), parameter, allowed.isEmpty() ? null : allowed);
  }
}
