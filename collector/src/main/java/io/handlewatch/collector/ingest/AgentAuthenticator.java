package io.handlewatch.collector.ingest;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.handlewatch.collector.security.AgentTokens;
import io.handlewatch.collector.security.TokenDigests;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides at the start of each call which host the agent may speak for, from its client certificate
 * or its bearer token ({@link IngestAuthFactory.Mode}); the identity travels to {@link
 * ReportStream} in the call's {@link Context}. A call without a valid credential is closed with
 * UNAUTHENTICATED before any report is read, and counted.
 */
final class AgentAuthenticator implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger(AgentAuthenticator.class);

  static final Context.Key<AgentIdentity> IDENTITY = Context.key("handlewatch-agent-identity");
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private static final int SAN_DNS = 2;

  private final IngestAuthFactory.Mode mode;
  private final AgentTokens tokens;
  private final boolean allowPlaintextTokens;
  private final IngestMetrics metrics;
  private final AtomicLong refused = new AtomicLong();

  AgentAuthenticator(
      IngestAuthFactory.Mode mode,
      AgentTokens tokens,
      boolean allowPlaintextTokens,
      IngestMetrics metrics) {
    this.mode = mode;
    this.tokens = tokens;
    this.allowPlaintextTokens = allowPlaintextTokens;
    this.metrics = metrics;
  }

  /** An identity, or why there is none. */
  private record Outcome(AgentIdentity identity, String reason, String message) {
    static Outcome of(AgentIdentity identity) {
      return new Outcome(identity, null, null);
    }

    static Outcome refused(String reason, String message) {
      return new Outcome(null, reason, message);
    }
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (mode == IngestAuthFactory.Mode.NONE) return next.startCall(call, headers);
    SSLSession tls = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    Outcome outcome = authenticate(tls, headers.get(AUTHORIZATION));
    if (outcome.identity() == null) {
      metrics.unauthenticated(outcome.reason());
      long n = refused.incrementAndGet();
      if (n <= 3 || Long.bitCount(n) == 1) {
        log.warn(
            "agent refused: peer={} UNAUTHENTICATED {} (refused so far: {})",
            call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
            outcome.message(),
            n);
      }
      call.close(Status.UNAUTHENTICATED.withDescription(outcome.message()), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    Context ctx = Context.current().withValue(IDENTITY, outcome.identity());
    return Contexts.interceptCall(ctx, call, headers, next);
  }

  private Outcome authenticate(SSLSession tls, String authorization) {
    if (mode.certificates()) {
      X509Certificate cert = peerCertificate(tls);
      if (cert != null) {
        Set<String> hosts = hostsOf(cert);
        if (hosts.isEmpty()) {
          return Outcome.refused(
              "certificate", "the client certificate names no host (no CN, no DNS name)");
        }
        return Outcome.of(
            new AgentIdentity(hosts, "certificate " + cert.getSubjectX500Principal().getName()));
      }
      if (!mode.tokens()) {
        return Outcome.refused(
            "no_certificate",
            "a client certificate is required (ingest.auth.mode: mtls); "
                + (tls == null ? "this connection is not TLS" : "none was presented"));
      }
    }
    String token = TokenDigests.bearer(authorization);
    if (token == null) {
      return Outcome.refused(
          "no_credential",
          mode == IngestAuthFactory.Mode.TOKEN
              ? "a bearer token is required (authorization: Bearer TOKEN)"
              : "a client certificate or a bearer token is required");
    }
    if (tls == null && !allowPlaintextTokens) {
      return Outcome.refused("plaintext", "bearer tokens are accepted over TLS only");
    }
    return tokens
        .hostFor(token)
        .map(host -> Outcome.of(new AgentIdentity(Set.of(host), "token of " + host)))
        .orElseGet(() -> Outcome.refused("bad_token", "unknown bearer token"));
  }

  private static X509Certificate peerCertificate(SSLSession tls) {
    if (tls == null) return null;
    try {
      Certificate[] chain = tls.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
    } catch (SSLPeerUnverifiedException none) {
      return null;
    }
  }

  /** The host names a certificate speaks for: its subject CN and its DNS subject alt names. */
  static Set<String> hostsOf(X509Certificate cert) {
    Set<String> hosts = new LinkedHashSet<>();
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN") && rdn.getValue() instanceof String cn) {
          hosts.add(cn);
        }
      }
    } catch (InvalidNameException e) {
      log.warn("client certificate subject does not parse, using its DNS names only: {}", e);
    }
    try {
      var sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() >= 2
              && san.get(0) instanceof Integer type
              && type == SAN_DNS
              && san.get(1) instanceof String dns) {
            hosts.add(dns);
          }
        }
      }
    } catch (CertificateParsingException e) {
      log.warn("client certificate subject alt names do not parse, using its CN only: {}", e);
    }
    return hosts;
  }
}
