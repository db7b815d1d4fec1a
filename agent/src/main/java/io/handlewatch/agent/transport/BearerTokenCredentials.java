package io.handlewatch.agent.transport;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executor;

/**
 * Sends {@code authorization: Bearer TOKEN} on every call, the token read from its file at each
 * call (one per stream) so a rotated token is used from the next reconnect on. It is never sent
 * over a connection without TLS unless that was allowed explicitly.
 */
public final class BearerTokenCredentials extends CallCredentials {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final Path file;
  private final boolean allowPlaintext;

  public BearerTokenCredentials(Path file, boolean allowPlaintext) {
    this.file = file;
    this.allowPlaintext = allowPlaintext;
  }

  /** The token: the file's first non-blank line, stripped. */
  public static String read(Path file) throws IOException {
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String t = line.strip();
      if (!t.isEmpty()) return t;
    }
    throw new IOException(file + " holds no token");
  }

  @Override
  public void applyRequestMetadata(
      RequestInfo info, Executor appExecutor, MetadataApplier applier) {
    if (info.getSecurityLevel() != SecurityLevel.PRIVACY_AND_INTEGRITY && !allowPlaintext) {
      applier.fail(
          Status.UNAUTHENTICATED.withDescription(
              "not sending the bearer token over a connection without TLS"));
      return;
    }
    appExecutor.execute(
        () -> {
          try {
            Metadata headers = new Metadata();
            headers.put(AUTHORIZATION, "Bearer " + read(file));
            applier.apply(headers);
          } catch (IOException | RuntimeException e) {
            applier.fail(
                Status.UNAUTHENTICATED
                    .withDescription("cannot read the token file " + file + ": " + e.getMessage())
                    .withCause(e));
          }
        });
  }
}
