package io.handlewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.util.AdvancedTlsX509KeyManager;
import io.handlewatch.collector.testing.TestCa;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The certificates bin/dev/make-test-ca makes, and how the collector loads and reloads them. */
class TlsCredentialsIT {
  @TempDir static Path tmp;
  static TestCa ca;

  @BeforeAll
  static void certificates() throws Exception {
    ca = TestCa.make(tmp.resolve("ca"), "web-1", "db-1.example.com");
  }

  private static X509Certificate read(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  @Test
  void agentCertificatesNameTheirHostInCnAndDnsName() throws Exception {
    assertThat(AgentAuthenticator.hostsOf(read(ca.cert("web-1")))).containsExactly("web-1");
    X509Certificate db = read(ca.cert("db-1.example.com"));
    assertThat(AgentAuthenticator.hostsOf(db)).containsExactly("db-1.example.com");
    assertThat(db.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.2"); // clientAuth
    X509Certificate server = read(ca.serverCert());
    assertThat(server.getSubjectAlternativeNames())
        .extracting(san -> (Object) san.get(1))
        .contains("127.0.0.1", "localhost");
    server.verify(read(ca.caCert()).getPublicKey());
    db.verify(read(ca.caCert()).getPublicKey());
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsRefusedAndTheCurrentPairStays() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("served"));
    Path cert = Files.copy(ca.serverCert(), dir.resolve("server.crt"));
    Path key = Files.copy(ca.serverKey(), dir.resolve("server.key"));
    var keys = new AdvancedTlsX509KeyManager();
    var reloader = new TlsFilesReloader(cert, key, null, keys, null);
    reloader.load();

    // Half a renewal: the key of another certificate next to the served one.
    Files.copy(ca.key("web-1"), key, StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(key, FileTime.fromMillis(System.currentTimeMillis() + 5000));
    reloader.reloadIfChanged();
    assertThat(reloader.failures()).isEqualTo(1);
    assertThat(reloader.reloads()).isZero();

    // The renewal completes: both files belong together again.
    Files.copy(ca.cert("web-1"), cert, StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(cert, FileTime.fromMillis(System.currentTimeMillis() + 5000));
    reloader.reloadIfChanged();
    assertThat(reloader.reloads()).isEqualTo(1);
    reloader.reloadIfChanged();
    assertThat(reloader.reloads()).as("unchanged files are not read again").isEqualTo(1);
  }

  @Test
  void unusableFilesStopStartUpNamingTheirKey() throws Exception {
    var exec = Executors.newSingleThreadScheduledExecutor();
    try {
      var tls = new IngestTlsFactory();
      tls.certFile = ca.serverCert().toString();
      tls.keyFile = tmp.resolve("missing.key").toString();
      assertThatThrownBy(() -> tls.credentials(exec)).hasMessageContaining("ingest.tls.keyFile");

      tls.keyFile = ca.key("web-1").toString();
      assertThatThrownBy(() -> tls.credentials(exec))
          .hasMessageContaining("ingest.tls.keyFile")
          .hasMessageContaining("is not the key of");

      tls.keyFile = ca.serverKey().toString();
      tls.clientAuth = IngestTlsFactory.ClientAuth.REQUIRE;
      tls.clientCaFile = ca.serverKey().toString();
      assertThatThrownBy(() -> tls.credentials(exec))
          .hasMessageContaining("ingest.tls.clientCaFile");
    } finally {
      exec.shutdownNow();
    }
  }
}
