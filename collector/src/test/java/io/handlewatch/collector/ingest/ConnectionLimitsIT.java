package io.handlewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.dropwizard.util.Duration;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.handlewatch.collector.testing.AgentStream;
import io.handlewatch.collector.testing.ControllableStore;
import io.handlewatch.collector.testing.TestReports;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The ingest port's caps on real loopback sockets, a bounded handful of them: in total, per peer
 * address (127.0.0.1, 127.0.0.2, ... are different peers), and connections that never authenticate
 * are closed after {@code idleTimeout}, not held until keepalive.
 */
class ConnectionLimitsIT {
  private final MetricRegistry registry = new MetricRegistry();
  private final IngestMetrics metrics = new IngestMetrics(registry);
  private final List<Socket> sockets = new ArrayList<>();
  private IngestServer server;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    for (Socket s : sockets) s.close();
    if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (server != null) server.stop();
  }

  private void start(int total, int perPeer, Duration idle, Duration handshake) throws Exception {
    var f = new IngestServerFactory();
    f.bindHost = "127.0.0.1";
    f.port = 0;
    f.maxConnections = total;
    f.maxConnectionsPerPeer = perPeer;
    f.idleTimeout = idle;
    f.handshakeTimeout = handshake;
    f.auth.mode = IngestAuthFactory.Mode.TOKEN;
    f.auth.allowPlaintextTokens = true;
    java.nio.file.Path tokens = java.nio.file.Files.createTempFile("hw14-tokens", "");
    java.nio.file.Files.writeString(tokens, "db-1 db1-token-0123456789abcdef\n");
    tokens.toFile().deleteOnExit();
    f.auth.tokensFile = tokens.toString();
    server = f.build(new ControllableStore().autoComplete(), metrics);
    server.start();
  }

  /** A plain TCP connection to the ingest port from {@code from} (a loopback address). */
  private Socket connect(String from) throws IOException {
    Socket s = new Socket();
    sockets.add(s);
    s.bind(new InetSocketAddress(from, 0));
    s.connect(new InetSocketAddress("127.0.0.1", server.port()), 2_000);
    return s;
  }

  /** Whether the collector closed {@code s} (end of stream or reset) within {@code millis}. */
  private static boolean closedByServer(Socket s, int millis) throws IOException {
    s.setSoTimeout(millis);
    // Not closed here: closing a socket's stream closes the socket.
    InputStream in = s.getInputStream();
    try {
      byte[] buf = new byte[256];
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      while (System.nanoTime() < deadline) {
        if (in.read(buf) < 0) return true;
      }
      return false;
    } catch (SocketTimeoutException open) {
      return false;
    } catch (IOException reset) {
      return true;
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("not within 10 s: " + what);
      Thread.sleep(20);
    }
  }

  @Test
  void connectionsAreCappedPerPeerAndInTotal() throws Exception {
    start(5, 3, Duration.minutes(5), Duration.minutes(5));
    List<Socket> first = new ArrayList<>();
    for (int i = 0; i < 3; i++) first.add(connect("127.0.0.1"));
    await(
        "3 connections held", () -> registry.gauge("ingest.connections.open").getValue().equals(3));

    Socket fourth = connect("127.0.0.1");
    assertThat(closedByServer(fourth, 5_000)).as("a 4th from one peer").isTrue();
    await("the refusal counted", () -> metrics.connectionsRefused("per_peer") == 1);
    for (Socket s : first) assertThat(closedByServer(s, 200)).as("the first 3 stay").isFalse();

    // Another peer address still gets in, up to the total of 5.
    Socket other1 = connect("127.0.0.2");
    Socket other2 = connect("127.0.0.2");
    await(
        "5 connections held", () -> registry.gauge("ingest.connections.open").getValue().equals(5));
    assertThat(closedByServer(other1, 200)).isFalse();
    assertThat(closedByServer(other2, 200)).isFalse();
    Socket sixth = connect("127.0.0.3");
    assertThat(closedByServer(sixth, 5_000)).as("a 6th in total").isTrue();
    await("the refusal counted", () -> metrics.connectionsRefused("total") == 1);

    // A closed connection gives its slot back.
    first.getFirst().close();
    await("slot released", () -> registry.gauge("ingest.connections.open").getValue().equals(4));
    Socket again = connect("127.0.0.1");
    assertThat(closedByServer(again, 300)).as("a connection in the freed slot").isFalse();
  }

  @Test
  void aConnectionThatNeverAuthenticatesIsClosedAfterTheIdleTimeout() throws Exception {
    start(100, 100, Duration.seconds(1), Duration.seconds(1));
    // Says nothing at all: closed by the handshake timeout.
    Socket silent = connect("127.0.0.1");
    long t0 = System.nanoTime();
    assertThat(closedByServer(silent, 8_000)).as("a silent connection").isTrue();
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);

    // Speaks gRPC without a token: its stream is refused, and the connection goes soon after.
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.port())
            .usePlaintext()
            .keepAliveWithoutCalls(false)
            .build();
    AgentStream s = AgentStream.open(channel);
    s.out.onNext(TestReports.report("db-1", 1, Instant.now()));
    assertThat(s.ended().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    await("the connection is held", () -> server.openConnections() == 1);
    long refusedAt = System.nanoTime();
    await("the connection is closed", () -> server.openConnections() == 0);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - refusedAt))
        .as("closed within a few idle timeouts")
        .isLessThan(5_000);
  }
}
