package io.handlewatch.collector.ingest;

import io.grpc.Status;

/**
 * Why a report is refused: the gRPC status code, the field at fault (a path into HostReport), a
 * message for the agent's operator, and a short reason used as the metric label.
 */
public record Violation(Status.Code code, String field, String message, String reason) {
  static Violation invalid(String field, String reason, String message) {
    return new Violation(Status.Code.INVALID_ARGUMENT, field, message, reason);
  }

  static Violation tooBig(String field, String reason, String message) {
    return new Violation(Status.Code.RESOURCE_EXHAUSTED, field, message, reason);
  }
}
