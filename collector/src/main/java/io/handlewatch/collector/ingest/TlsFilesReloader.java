package io.handlewatch.collector.ingest;

import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the collector's TLS credentials in step with their PEM files: when the certificate, the key
 * or the client CA file changes (size or modification time), all are read again and handed to
 * gRPC's key and trust managers, which serve them to new connections from then on.
 *
 * <p>gRPC's own file watching checks at most once a minute and only when both the certificate and
 * the key changed; this one runs on the configured period, reloads on any change, and refuses a key
 * that does not belong to the certificate (as seen between the two files of a renewal being
 * replaced): the previous credentials stay in force and the next check tries again.
 */
final class TlsFilesReloader {
  private static final Logger log = LoggerFactory.getLogger(TlsFilesReloader.class);

  private final Path certFile;
  private final Path keyFile;
  private final Path clientCaFile;
  private final AdvancedTlsX509KeyManager keys;
  private final AdvancedTlsX509TrustManager trust;
  private final AtomicLong reloads = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private String loaded;
  private String lastFailed;

  TlsFilesReloader(
      Path certFile,
      Path keyFile,
      Path clientCaFile,
      AdvancedTlsX509KeyManager keys,
      AdvancedTlsX509TrustManager trust) {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.clientCaFile = clientCaFile;
    this.keys = keys;
    this.trust = trust;
  }

  /**
   * The first load.
   *
   * @throws IllegalArgumentException naming the configuration key of the file that cannot be used
   */
  synchronized void load() {
    String stamp = stampOrNull();
    try {
      apply();
      loaded = stamp;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** Reloads when a file changed; a failure keeps the credentials in force. Never throws. */
  synchronized void reloadIfChanged() {
    String stamp = stampOrNull();
    if (stamp == null || stamp.equals(loaded)) return;
    try {
      apply();
      loaded = stamp;
      lastFailed = null;
      reloads.incrementAndGet();
      log.info("ingest TLS credentials reloaded from {} and {}", certFile, keyFile);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      failures.incrementAndGet();
      if (!stamp.equals(lastFailed)) {
        log.warn(
            "ingest TLS credentials not reloaded, keeping the current ones: {}", e.getMessage());
      }
      lastFailed = stamp;
    }
  }

  long reloads() {
    return reloads.get();
  }

  long failures() {
    return failures.get();
  }

  private void apply() throws IOException, GeneralSecurityException {
    X509Certificate[] chain = certificates("ingest.tls.certFile", certFile);
    PrivateKey key;
    try (InputStream in = Files.newInputStream(keyFile)) {
      key = CertificateUtils.getPrivateKey(in);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new GeneralSecurityException(
          "ingest.tls.keyFile: cannot read a private key (unencrypted PKCS#8 PEM) from "
              + keyFile
              + ": "
              + e,
          e);
    }
    if (!belongTogether(key, chain[0].getPublicKey())) {
      throw new GeneralSecurityException(
          "ingest.tls.keyFile: the key in " + keyFile + " is not the key of " + certFile);
    }
    X509Certificate[] clientCas =
        clientCaFile == null ? null : certificates("ingest.tls.clientCaFile", clientCaFile);
    keys.updateIdentityCredentials(chain, key);
    if (clientCas != null) trust.updateTrustCredentials(clientCas);
  }

  private static X509Certificate[] certificates(String key, Path file)
      throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(file)) {
      X509Certificate[] certs = CertificateUtils.getX509Certificates(in);
      if (certs.length == 0) throw new GeneralSecurityException("no certificate in the file");
      return certs;
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new GeneralSecurityException(
          key + ": cannot read PEM certificates from " + file + ": " + e.getMessage(), e);
    }
  }

  /** Whether the key signs what the certificate's public key verifies. */
  private static boolean belongTogether(PrivateKey key, PublicKey pub) {
    if (!key.getAlgorithm().equals(pub.getAlgorithm())) return false;
    String alg =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> null;
        };
    if (alg == null) return true; // gRPC reads RSA and EC keys only; nothing else gets here
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(challenge);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(pub);
      v.update(challenge);
      return v.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** Size and modification time of every file, or null while one is missing (mid-rename). */
  private String stampOrNull() {
    StringBuilder sb = new StringBuilder();
    for (Path p :
        clientCaFile == null
            ? new Path[] {certFile, keyFile}
            : new Path[] {certFile, keyFile, clientCaFile}) {
      try {
        sb.append(Files.getLastModifiedTime(p).toMillis())
            .append('/')
            .append(Files.size(p))
            .append(';');
      } catch (IOException e) {
        return null;
      }
    }
    return sb.toString();
  }
}
