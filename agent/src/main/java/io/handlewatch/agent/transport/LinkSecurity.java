package io.handlewatch.agent.transport;

import java.nio.file.Path;

/**
 * How the agent's connection to its collector is secured: TLS (trusting {@code caCert}, or the
 * JDK's CAs when null), a client certificate for mutual TLS, the name the collector's certificate
 * must carry when it differs from the address dialled, and a bearer token file.
 *
 * @param allowPlaintextToken send the token without TLS (loopback tests only)
 */
public record LinkSecurity(
    boolean tls,
    Path caCert,
    Path clientCert,
    Path clientKey,
    String serverName,
    Path tokenFile,
    boolean allowPlaintextToken) {

  public static LinkSecurity plaintext() {
    return new LinkSecurity(false, null, null, null, null, null, false);
  }
}
