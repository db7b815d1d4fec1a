package io.handlewatch.collector.ingest;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.Duration;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.handlewatch.agent.spool.MemoryReportQueue;
import io.handlewatch.agent.transport.CollectorChannels;
import io.handlewatch.agent.transport.CollectorLink;
import io.handlewatch.agent.transport.LinkSecurity;
import io.handlewatch.agent.transport.SysctlCadence;
import io.handlewatch.collector.testing.AgentStream;
import io.handlewatch.collector.testing.ControllableStore;
import io.handlewatch.collector.testing.TestCa;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ReportAck;
import java.io.FileInputStream;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ingest with real TLS on loopback: certificates from bin/dev/make-test-ca, the collector's
 * IngestServer as configured in YAML, and the agent's own channel code (CollectorChannels,
 * CollectorLink) on the other side.
 */
class SecureIngestIT {
  private static final String TOKEN_DB1 = "db1-token-0123456789abcdef";

  @TempDir static Path tmp;
  static TestCa ca;
  static TestCa otherCa;
  static Path tokens;
  static Path db1Token;
  static Path badToken;

  private final ControllableStore store = new ControllableStore().autoComplete();
  private final IngestMetrics metrics = new IngestMetrics(new MetricRegistry());
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
  private final List<ManagedChannel> channels = new ArrayList<>();
  private IngestServer server;
  private final Instant now = Instant.now();

  @BeforeAll
  static void certificates() throws Exception {
    ca = TestCa.make(tmp.resolve("ca"), "web-1", "db-1");
    otherCa = TestCa.make(tmp.resolve("other-ca"), "web-1");
    tokens = tmp.resolve("agent-tokens");
    Files.writeString(
        tokens,
        "# host token\ndb-1 "
            + TOKEN_DB1
            + "\nweb-1 sha256:"
            + "0".repeat(64)
            + "   # a digest only\n");
    db1Token = Files.writeString(tmp.resolve("db-1.token"), TOKEN_DB1 + "\n");
    badToken = Files.writeString(tmp.resolve("bad.token"), "not-the-token-of-anyone\n");
  }

  @AfterEach
  void stop() throws Exception {
    for (ManagedChannel c : channels) c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (server != null) server.stop();
    scheduler.shutdownNow();
  }

  private IngestServer start(Consumer<IngestServerFactory> configure) throws Exception {
    var f = new IngestServerFactory();
    f.bindHost = "127.0.0.1";
    f.port = 0;
    configure.accept(f);
    server = f.build(store, metrics);
    server.start();
    return server;
  }

  private static IngestTlsFactory tls(IngestTlsFactory.ClientAuth clientAuth) {
    var t = new IngestTlsFactory();
    t.certFile = ca.serverCert().toString();
    t.keyFile = ca.serverKey().toString();
    t.clientCaFile = ca.caCert().toString();
    t.clientAuth = clientAuth;
    t.reloadInterval = Duration.seconds(1);
    return t;
  }

  private static void mtls(IngestServerFactory f) {
    f.tls = tls(IngestTlsFactory.ClientAuth.REQUIRE);
    f.auth.mode = IngestAuthFactory.Mode.MTLS;
  }

  private static void tokens(IngestServerFactory f) {
    f.tls = tls(IngestTlsFactory.ClientAuth.NONE);
    f.auth.mode = IngestAuthFactory.Mode.TOKEN;
    f.auth.tokensFile = tokens.toString();
  }

  private static LinkSecurity asAgent(TestCa trust, TestCa issuer, String host) {
    return new LinkSecurity(
        true, trust.caCert(), issuer.cert(host), issuer.key(host), null, null, false);
  }

  private static LinkSecurity withToken(Path tokenFile) {
    return new LinkSecurity(true, ca.caCert(), null, null, "localhost", tokenFile, false);
  }

  private ManagedChannel channel(LinkSecurity security) {
    ManagedChannel c = CollectorChannels.open("127.0.0.1:" + server.port(), security, scheduler);
    channels.add(c);
    return c;
  }

  @Test
  void plaintextIsRefusedWhenTheCollectorSpeaksTls() throws Exception {
    start(f -> f.tls = tls(IngestTlsFactory.ClientAuth.NONE));
    ManagedChannel plain =
        NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    channels.add(plain);
    AgentStream s = AgentStream.open(plain);
    s.out.onNext(report("web-1", 1, now));
    assertThat(s.ended().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(s.acks).isEmpty();
    assertThat(store.seqs("web-1")).isEmpty();
  }

  @Test
  void anAgentWithItsCertificateIsStoredEndToEnd() throws Exception {
    start(SecureIngestIT::mtls);
    var queue = new MemoryReportQueue(100, 1 << 20);
    for (long seq = 1; seq <= 3; seq++) queue.append(report("web-1", seq, now.plusSeconds(seq)));
    var link =
        new CollectorLink(
            "127.0.0.1:" + server.port(),
            channel(asAgent(ca, ca, "web-1")),
            queue,
            new SysctlCadence(Clock.systemUTC(), java.time.Duration.ofHours(1)),
            CollectorLink.defaultBackoff(),
            scheduler,
            java.time.Duration.ofSeconds(30));
    link.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (link.ackedUpTo() < 3 && System.nanoTime() < deadline) Thread.sleep(20);
      assertThat(link.ackedUpTo()).isEqualTo(3);
      assertThat(link.rejected()).isZero();
      assertThat(store.seqs("web-1")).containsExactly(1L, 2L, 3L);
    } finally {
      link.close();
    }
  }

  @Test
  void certificatesOfAnotherCaAreRefusedBothWays() throws Exception {
    start(SecureIngestIT::mtls);
    // The agent's certificate is signed by a CA the collector does not trust.
    AgentStream foreignAgent = AgentStream.open(channel(asAgent(ca, otherCa, "web-1")));
    foreignAgent.out.onNext(report("web-1", 1, now));
    assertThat(foreignAgent.ended().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    // The agent trusts another CA than the one that signed the collector's certificate.
    AgentStream foreignCollector = AgentStream.open(channel(asAgent(otherCa, ca, "web-1")));
    foreignCollector.out.onNext(report("web-1", 1, now));
    assertThat(foreignCollector.ended().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(store.seqs("web-1")).isEmpty();
  }

  @Test
  void refusedCertificatesAreCountedAndLoggedWithTheirPeerAndReason() throws Exception {
    start(SecureIngestIT::mtls);
    ca.issueExpired("db-1");
    var lines = new io.handlewatch.collector.testing.LogLines(ConnectionGuard.class, "io.grpc");
    try {
      var otherCaAgent = asAgent(ca, otherCa, "web-1");
      var expired =
          new LinkSecurity(
              true,
              ca.caCert(),
              ca.dir().resolve("db-1-expired.crt"),
              ca.dir().resolve("db-1-expired.key"),
              null,
              null,
              false);
      var serverCertAsClient =
          new LinkSecurity(true, ca.caCert(), ca.serverCert(), ca.serverKey(), null, null, false);
      for (LinkSecurity bad : List.of(otherCaAgent, expired, serverCertAsClient)) {
        ManagedChannel c = channel(bad);
        AgentStream s = AgentStream.open(c);
        s.out.onNext(report("web-1", 1, now));
        assertThat(s.ended().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        // No reconnects of its own from here on.
        c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      for (String reason :
          List.of(
              "reason=certificate not signed by ingest.tls.clientCaFile",
              "reason=certificate expired",
              "reason=certificate not made for a client (key usage)")) {
        String line = lines.await(l -> l.contains(reason));
        assertThat(line).startsWith("ingest TLS handshake refused: peer=/127.0.0.1:");
      }
      assertThat(lines.withStackTrace()).isEmpty();
    } finally {
      lines.close();
    }
    assertThat(metrics.tlsRefusedCount()).isGreaterThanOrEqualTo(3);
    assertThat(metrics.lastTlsRefusal()).contains("/127.0.0.1:");
    assertThat(store.seqs("web-1")).isEmpty();
    // A good certificate still gets in, and is not counted.
    long refused = metrics.tlsRefusedCount();
    AgentStream good = AgentStream.open(channel(asAgent(ca, ca, "web-1")));
    good.out.onNext(report("web-1", 1, now));
    assertThat(good.nextAck().getAckedSeq()).isEqualTo(1);
    assertThat(metrics.tlsRefusedCount()).isEqualTo(refused);
  }

  @Test
  void aCertificateForOneHostCannotReportForAnother() throws Exception {
    start(SecureIngestIT::mtls);
    AgentStream web1 = AgentStream.open(channel(asAgent(ca, ca, "web-1")));
    web1.out.onNext(report("db-1", 1, now));
    ReportAck refused = web1.nextAck();
    assertThat(refused.getRejected().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED.value());
    assertThat(refused.getRejected().getField()).isEqualTo("sample.host.hostname");
    assertThat(refused.getRejected().getMessage()).contains("CN=web-1").contains("db-1");
    assertThat(metrics.rejectedCount("identity_mismatch")).isEqualTo(1);

    web1.out.onNext(report("web-1", 2, now));
    ReportAck ok = web1.nextAck();
    assertThat(ok.getAckedSeq()).isEqualTo(2);
    assertThat(ok.hasRejected()).isFalse();
    assertThat(store.seqs("db-1")).isEmpty();
    assertThat(store.seqs("web-1")).containsExactly(2L);
  }

  @Test
  void withoutAClientCertificateTheCallIsUnauthenticated() throws Exception {
    start(
        f -> {
          f.tls = tls(IngestTlsFactory.ClientAuth.OPTIONAL);
          f.auth.mode = IngestAuthFactory.Mode.MTLS;
        });
    var noCert = new LinkSecurity(true, ca.caCert(), null, null, null, null, false);
    AgentStream s = AgentStream.open(channel(noCert));
    s.out.onNext(report("web-1", 1, now));
    Status end = s.ended();
    assertThat(end.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(end.getDescription()).contains("client certificate is required");
    assertThat(metrics.unauthenticatedCount()).isEqualTo(1);
    assertThat(store.seqs("web-1")).isEmpty();
  }

  @Test
  void aTokenSpeaksForItsHostAndABadOneIsUnauthenticated() throws Exception {
    start(SecureIngestIT::tokens);
    AgentStream db1 = AgentStream.open(channel(withToken(db1Token)));
    db1.out.onNext(report("db-1", 1, now));
    db1.out.onNext(report("web-1", 2, now));
    db1.out.onNext(report("db-1", 3, now));
    List<ReportAck> acks = db1.ackedUpTo(3);
    assertThat(acks)
        .filteredOn(ReportAck::hasRejected)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.getRejected().getSeq()).isEqualTo(2);
              assertThat(a.getRejected().getCode())
                  .isEqualTo(Status.Code.PERMISSION_DENIED.value());
            });
    assertThat(store.seqs("db-1")).containsExactly(1L, 3L);
    assertThat(metrics.rejectedCount("identity_mismatch")).isEqualTo(1);

    AgentStream bad = AgentStream.open(channel(withToken(badToken)));
    bad.out.onNext(report("db-1", 4, now));
    Status end = bad.ended();
    assertThat(end.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(end.getDescription()).contains("unknown bearer token");

    AgentStream none = AgentStream.open(channel(withToken(null)));
    none.out.onNext(report("db-1", 5, now));
    assertThat(none.ended().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(metrics.unauthenticatedCount()).isEqualTo(2);
    assertThat(store.seqs("db-1")).containsExactly(1L, 3L);
  }

  @Test
  void aRenewedServerCertificateIsServedWithoutARestart() throws Exception {
    start(f -> f.tls = tls(IngestTlsFactory.ClientAuth.NONE));
    AgentStream before = AgentStream.open(channel(asAgent(ca, ca, "web-1")));
    before.out.onNext(report("web-1", 1, now));
    assertThat(before.nextAck().getAckedSeq()).isEqualTo(1);
    BigInteger first = servedCertificate().getSerialNumber();

    ca.renewServerCertificate();
    BigInteger renewed = certificateIn(ca.serverCert()).getSerialNumber();
    assertThat(renewed).isNotEqualTo(first);
    BigInteger served = first;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!served.equals(renewed) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      try {
        served = servedCertificate().getSerialNumber();
      } catch (java.io.IOException midSwap) {
        // The key and the certificate are two files: a handshake between their reloads fails.
      }
    }
    assertThat(served).as("serial served to a new connection").isEqualTo(renewed);

    // The collector kept running: the stream opened before the renewal still works, and so
    // does a new one.
    before.out.onNext(report("web-1", 2, now));
    assertThat(before.nextAck().getAckedSeq()).isEqualTo(2);
    AgentStream after = AgentStream.open(channel(asAgent(ca, ca, "web-1")));
    after.out.onNext(report("web-1", 3, now));
    assertThat(after.nextAck().getAckedSeq()).isEqualTo(3);
    assertThat(server.isRunning()).isTrue();
  }

  @Test
  void aFloodingAgentIsCutOffAndItsHonestNeighbourIsUnaffected() throws Exception {
    start(
        f -> {
          mtls(f);
          f.limits.maxReportsPerSecond = 0.5;
          f.limits.reportBurst = 5;
        });
    AgentStream flood = AgentStream.open(channel(asAgent(ca, ca, "web-1")));
    AgentStream honest = AgentStream.open(channel(asAgent(ca, ca, "db-1")));
    for (long seq = 1; seq <= 50; seq++) flood.out.onNext(report("web-1", seq, now));
    for (long seq = 1; seq <= 5; seq++) honest.out.onNext(report("db-1", seq, now));

    Status end = flood.ended();
    assertThat(end.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(end.getDescription()).contains("rate limit").contains("replay from seq");
    assertThat(metrics.rejectedCount("rate_limit")).isEqualTo(1);
    assertThat(store.seqs("web-1")).hasSizeLessThanOrEqualTo(5);

    assertThat(honest.ackedUpTo(5).getLast().getAckedSeq()).isEqualTo(5);
    assertThat(store.seqs("db-1")).containsExactly(1L, 2L, 3L, 4L, 5L);
  }

  @Test
  void aHostCreatingSeriesWithoutEndIsCappedAndItsNeighbourIsUnaffected() throws Exception {
    start(
        f -> {
          mtls(f);
          f.limits.maxSeriesPerHost = 20;
        });
    AgentStream churn = AgentStream.open(channel(asAgent(ca, ca, "web-1")));
    AgentStream honest = AgentStream.open(channel(asAgent(ca, ca, "db-1")));
    // Every report of web-1 names 5 new processes: 5 new series each time.
    int reports = 10;
    for (int seq = 1; seq <= reports; seq++) {
      var sample = TestReports.sample("web-1", seq, now).toBuilder().clearProcesses();
      for (int i = 0; i < 5; i++) {
        sample.addProcesses(TestReports.process(seq * 100 + i, "worker", 10, 1024, 0));
      }
      churn.out.onNext(HostReport.newBuilder().setSeq(seq).setSample(sample).build());
      honest.out.onNext(report("db-1", seq, now));
    }
    List<ReportAck> acks = churn.ackedUpTo(reports);
    List<ReportAck> refused = acks.stream().filter(ReportAck::hasRejected).toList();
    assertThat(refused).isNotEmpty();
    assertThat(refused)
        .allSatisfy(
            a -> {
              assertThat(a.getRejected().getCode())
                  .isEqualTo(Status.Code.RESOURCE_EXHAUSTED.value());
              assertThat(a.getRejected().getField()).startsWith("sample.processes[");
            });
    assertThat(metrics.rejectedCount("cardinality")).isEqualTo(refused.size());
    assertThat(store.seqs("web-1")).hasSize(reports - refused.size());

    assertThat(honest.ackedUpTo(reports)).noneMatch(ReportAck::hasRejected);
    assertThat(store.seqs("db-1")).hasSize(reports);
  }

  @Test
  void anOversizedReportEndsOnlyItsOwnStream() throws Exception {
    start(
        f -> {
          mtls(f);
          f.maxMessageSize = DataSize.kibibytes(64);
        });
    ManagedChannel web1 = channel(asAgent(ca, ca, "web-1"));
    AgentStream big = AgentStream.open(web1);
    AgentStream sameConnection = AgentStream.open(web1);
    AgentStream otherAgent = AgentStream.open(channel(asAgent(ca, ca, "db-1")));

    var sample = TestReports.sample("web-1", 1, now).toBuilder();
    sample.setProcesses(0, sample.getProcesses(0).toBuilder().setCmdline("x".repeat(100_000)));
    var lines = new io.handlewatch.collector.testing.LogLines(ReportStream.class, "io.grpc");
    try {
      big.out.onNext(HostReport.newBuilder().setSeq(1).setSample(sample).build());
      assertThat(big.ended().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      // One line says what happened, whose it was and the sizes; no stack trace from gRPC.
      String line = lines.await(l -> l.contains("maxMessageSize"));
      assertThat(line)
          .contains("agent disconnected: host=web-1 peer=/127.0.0.1:")
          .contains("report larger than ingest.maxMessageSize")
          .contains("65536");
      assertThat(lines.all())
          .filteredOn(l -> l.contains("maximum size") || l.contains("maxMessageSize"))
          .hasSize(1);
      assertThat(lines.withStackTrace()).isEmpty();
    } finally {
      lines.close();
    }
    assertThat(metrics.rejectedCount("too_large")).isEqualTo(1);

    sameConnection.out.onNext(report("web-1", 2, now));
    assertThat(sameConnection.nextAck().getAckedSeq()).isEqualTo(2);
    otherAgent.out.onNext(report("db-1", 1, now));
    assertThat(otherAgent.nextAck().getAckedSeq()).isEqualTo(1);
    assertThat(store.seqs("web-1")).containsExactly(2L);
  }

  /** The certificate the collector presents to a new TLS connection. */
  private X509Certificate servedCertificate() throws Exception {
    var trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("ca", certificateIn(ca.caCert()));
    var tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    var ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    try (var socket = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port())) {
      SSLParameters params = socket.getSSLParameters();
      params.setApplicationProtocols(new String[] {"h2"});
      socket.setSSLParameters(params);
      socket.startHandshake();
      return (X509Certificate) socket.getSession().getPeerCertificates()[0];
    }
  }

  private static X509Certificate certificateIn(Path pem) throws Exception {
    try (InputStream in = new FileInputStream(pem.toFile())) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }
}
