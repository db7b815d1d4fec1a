package io.handlewatch.agent.cli;

import io.handlewatch.agent.transport.BearerTokenCredentials;
import io.handlewatch.agent.transport.CollectorTargets;
import io.handlewatch.agent.transport.LinkSecurity;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code run}'s options for TLS, mutual TLS and bearer tokens towards the collector. */
final class LinkSecurityOptions {
  @Option(
      names = "--tls",
      description = "Connect to the collector over TLS (trusting --ca-cert, else the JDK's CAs).")
  boolean tls;

  @Option(
      names = "--ca-cert",
      paramLabel = "FILE",
      description = "CA certificates (PEM) that sign the collector's certificate. Needs --tls.")
  Path caCert;

  @Option(
      names = "--client-cert",
      paramLabel = "FILE",
      description =
          "This agent's certificate (PEM) for mutual TLS; its CN or DNS name is the host it"
              + " reports for. Needs --tls and --client-key.")
  Path clientCert;

  @Option(
      names = "--client-key",
      paramLabel = "FILE",
      description = "The private key of --client-cert (unencrypted PKCS#8 PEM).")
  Path clientKey;

  @Option(
      names = "--server-name",
      paramLabel = "NAME",
      description =
          "The name the collector's certificate must carry, when it differs from the --collector"
              + " host (e.g. dialling an IP address). Needs --tls.")
  String serverName;

  @Option(
      names = "--token-file",
      paramLabel = "FILE",
      description =
          "A file holding this agent's bearer token, sent as 'authorization: Bearer ...'. Read at"
              + " each connect, so it can be rotated in place. Needs --tls.")
  Path tokenFile;

  @Option(
      names = "--allow-plaintext-token",
      description =
          "Send --token-file's token without --tls: for tests against a collector on loopback"
              + " only.")
  boolean allowPlaintextToken;

  /** The options as a {@link LinkSecurity}, checked; an error names the option at fault. */
  LinkSecurity security(CommandSpec spec, CollectorTargets collector) {
    if (!tls) {
      requireTls(spec, "--ca-cert", caCert != null);
      requireTls(spec, "--client-cert", clientCert != null);
      requireTls(spec, "--client-key", clientKey != null);
      requireTls(spec, "--server-name", serverName != null);
    }
    if ((clientCert == null) != (clientKey == null)) {
      throw new ParameterException(
          spec.commandLine(),
          clientCert == null
              ? "--client-key needs --client-cert"
              : "--client-cert needs --client-key");
    }
    readable(spec, "--ca-cert", caCert);
    readable(spec, "--client-cert", clientCert);
    readable(spec, "--client-key", clientKey);
    if (serverName != null && serverName.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--server-name must not be empty");
    }
    if (allowPlaintextToken && tokenFile == null) {
      throw new ParameterException(
          spec.commandLine(), "--allow-plaintext-token needs --token-file");
    }
    if (tokenFile != null) {
      readable(spec, "--token-file", tokenFile);
      try {
        BearerTokenCredentials.read(tokenFile);
      } catch (IOException e) {
        throw new ParameterException(spec.commandLine(), "--token-file: " + e.getMessage());
      }
      if (!tls && !allowPlaintextToken) {
        throw new ParameterException(
            spec.commandLine(),
            "--token-file: the token would travel in the clear; add --tls (or"
                + " --allow-plaintext-token for a collector on loopback)");
      }
      if (!tls && !isLoopback(collector)) {
        throw new ParameterException(
            spec.commandLine(),
            "--allow-plaintext-token: only for a collector on loopback, not " + collector.spec());
      }
    }
    return new LinkSecurity(
        tls, caCert, clientCert, clientKey, serverName, tokenFile, allowPlaintextToken);
  }

  private static void requireTls(CommandSpec spec, String option, boolean given) {
    if (given) throw new ParameterException(spec.commandLine(), option + " needs --tls");
  }

  private static void readable(CommandSpec spec, String option, Path file) {
    if (file != null && !(Files.isRegularFile(file) && Files.isReadable(file))) {
      throw new ParameterException(spec.commandLine(), option + ": cannot read " + file);
    }
  }

  /** Every collector named is on loopback (a URI target is not looked into: not loopback). */
  private static boolean isLoopback(CollectorTargets targets) {
    if (targets.addresses().isEmpty()) return false;
    try {
      for (CollectorTargets.Address t : targets.addresses()) {
        for (InetAddress a : InetAddress.getAllByName(t.host())) {
          if (!a.isLoopbackAddress()) return false;
        }
      }
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
