package io.handlewatch.collector.ingest;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import io.dropwizard.validation.ValidationMethod;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The {@code ingest.tls:} section: TLS on the gRPC port, and whether agents must present a client
 * certificate. Certificate, key and client CA are PEM files re-read every {@code reloadInterval}
 * when they change, so a renewed certificate is served to new connections without a restart
 * (connections already open keep the session they negotiated).
 */
public class IngestTlsFactory {
  /** Whether the collector asks agents for a certificate signed by {@code clientCaFile}. */
  public enum ClientAuth {
    NONE,
    OPTIONAL,
    REQUIRE
  }

  /** The collector's certificate chain (PEM), leaf first. */
  @NotEmpty @JsonProperty public String certFile;

  /** Its private key: unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  @NotEmpty @JsonProperty public String keyFile;

  /** CA certificates (PEM) that sign agents' client certificates. */
  @JsonProperty public String clientCaFile;

  @NotNull @JsonProperty public ClientAuth clientAuth = ClientAuth.NONE;

  /** How often the files are checked for a change. */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration reloadInterval = Duration.minutes(1);

  @ValidationMethod(
      message =
          "ingest.tls.clientCaFile is required when ingest.tls.clientAuth is optional or require")
  public boolean isClientCaGivenWhenNeeded() {
    return clientAuth == ClientAuth.NONE || (clientCaFile != null && !clientCaFile.isBlank());
  }

  /**
   * Loads the files once (one that cannot be used stops start-up, naming its key) and checks them
   * for a change every {@code reloadInterval} on {@code reloader}.
   */
  ServerCredentials credentials(ScheduledExecutorService reloader) {
    var keys = new AdvancedTlsX509KeyManager();
    AdvancedTlsX509TrustManager trust = null;
    if (clientAuth != ClientAuth.NONE) {
      try {
        // The chain is checked against the CA here; which host a certificate speaks for is
        // decided per call by AgentAuthenticator, so no host name check on client certificates.
        trust =
            AdvancedTlsX509TrustManager.newBuilder()
                .setVerification(
                    AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
                .build();
      } catch (CertificateException e) {
        throw new IllegalStateException("cannot make a trust manager: " + e, e);
      }
    }
    var files =
        new TlsFilesReloader(
            readable("ingest.tls.certFile", certFile),
            readable("ingest.tls.keyFile", keyFile),
            trust == null ? null : readable("ingest.tls.clientCaFile", clientCaFile),
            keys,
            trust);
    files.load();
    long period = reloadInterval.toMilliseconds();
    reloader.scheduleWithFixedDelay(files::reloadIfChanged, period, period, TimeUnit.MILLISECONDS);
    var builder = TlsServerCredentials.newBuilder().keyManager(keys);
    if (trust != null) {
      builder
          .trustManager(trust)
          .clientAuth(
              clientAuth == ClientAuth.REQUIRE
                  ? TlsServerCredentials.ClientAuth.REQUIRE
                  : TlsServerCredentials.ClientAuth.OPTIONAL);
    }
    return builder.build();
  }

  private static Path readable(String key, String path) {
    Path f = Path.of(path);
    if (!Files.isRegularFile(f) || !Files.isReadable(f)) {
      throw new IllegalArgumentException(key + ": cannot read " + path);
    }
    return f;
  }
}
