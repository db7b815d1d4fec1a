package io.handlewatch.collector.ingest;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDataSize;
import io.dropwizard.validation.MinDuration;
import io.dropwizard.validation.ValidationMethod;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.handlewatch.collector.clock.ClockOffsets;
import io.handlewatch.collector.security.AgentTokens;
import io.handlewatch.collector.store.SampleStore;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** The {@code ingest:} section of the configuration: the gRPC port agents stream to. */
public class IngestServerFactory {
  @NotEmpty @JsonProperty public String bindHost = "0.0.0.0";

  @Min(0)
  @Max(65535)
  @JsonProperty
  public int port = 9400;

  /**
   * Reports of one stream between arrival and acknowledgement. Beyond it the collector stops
   * reading that stream, and HTTP/2 flow control holds the agent back.
   */
  @Min(1)
  @Max(4096)
  @JsonProperty
  public int maxInFlightPerStream = 8;

  /**
   * Backpressure: the share of the store's write buffer ({@code store.maxBufferedPoints}) that
   * reports in flight may take at most, all streams together; the rest is left for the detector's
   * verdict points. A report goes to the store only with credit from this budget; while none is
   * left, streams read nothing more (HTTP/2 flow control holds agents back, their reports stay in
   * their spools) and agents that connect meanwhile are told when to come back. Ignored when {@link
   * #maxInFlightPoints} is set.
   */
  @DecimalMin("0.01")
  @DecimalMax("1.0")
  @JsonProperty
  public double backpressureAt = IngestService.DEFAULT_BACKPRESSURE_AT;

  /**
   * The admission budget in stored points, shared by every stream: 0 takes {@link #backpressureAt}
   * of the store's write buffer, or {@value IngestService#DEFAULT_UNBUFFERED_BUDGET} points with a
   * store that has none (the memory store). May not exceed {@code store.maxBufferedPoints}.
   */
  @Min(0)
  @Max(1_000_000_000)
  @JsonProperty
  public long maxInFlightPoints = 0;

  /** Largest report accepted; a bigger one ends its stream with RESOURCE_EXHAUSTED. */
  @NotNull
  @MinDataSize(value = 64, unit = io.dropwizard.util.DataSizeUnit.KIBIBYTES)
  @JsonProperty
  public DataSize maxMessageSize = DataSize.mebibytes(4);

  /**
   * How often an agent may ping. Agents send keepalives every 30 s; a client pinging faster than
   * this is told to go away (GOAWAY too_many_pings), as gRPC servers do.
   */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration permitKeepAliveTime = Duration.seconds(10);

  /** How often the collector pings an agent to find dead connections. */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration keepAliveTime = Duration.minutes(1);

  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration keepAliveTimeout = Duration.seconds(20);

  /**
   * Connections the ingest port holds at most; one more is closed as soon as it is accepted. Each
   * agent holds one.
   */
  @Min(1)
  @Max(1_000_000)
  @JsonProperty
  public int maxConnections = 10_000;

  /**
   * Connections from one peer address at most. Behind an L4 load balancer or NAT every agent comes
   * from its address: raise this to the number of agents behind it.
   */
  @Min(1)
  @Max(1_000_000)
  @JsonProperty
  public int maxConnectionsPerPeer = 256;

  /**
   * A connection without an open stream for this long is closed (GOAWAY). An agent always holds its
   * stream open, so this closes connections whose stream was refused (no or a bad credential) and
   * connections that never opened one.
   */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration idleTimeout = Duration.seconds(20);

  /** Time from accept to a completed TLS handshake and HTTP/2 preface; then it is closed. */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration handshakeTimeout = Duration.seconds(10);

  /** How long shutdown waits for streams to finish before cutting them. */
  @NotNull @JsonProperty public Duration shutdownGrace = Duration.seconds(5);

  @Valid @NotNull @JsonProperty public ReportLimits limits = new ReportLimits();

  /** TLS on the gRPC port; absent means plaintext. */
  @Valid @JsonProperty public IngestTlsFactory tls;

  /** How agents authenticate; the default lets any agent report any host. */
  @Valid @NotNull @JsonProperty public IngestAuthFactory auth = new IngestAuthFactory();

  @ValidationMethod(
      message =
          "ingest.auth.mode mtls and mtls_or_token need ingest.tls with clientAuth optional or"
              + " require")
  public boolean isTlsGivenForCertificates() {
    return !auth.mode.certificates()
        || (tls != null && tls.clientAuth != IngestTlsFactory.ClientAuth.NONE);
  }

  @ValidationMethod(
      message =
          "ingest.auth.mode token needs ingest.tls (bearer tokens travel over TLS only);"
              + " ingest.auth.allowPlaintextTokens is for tests on a loopback ingest.bindHost")
  public boolean isTokenTransportSafe() {
    if (!auth.mode.tokens() || tls != null) return true;
    return auth.allowPlaintextTokens && isLoopback(bindHost);
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  /**
   * The share of the store's write buffer the admission budget lets reports fill: what ingest may
   * leave waiting in the store, which the detector's warm-up measures its pacing against. 1 for a
   * store without a buffer.
   */
  public double admissionShare(SampleStore store) {
    var buffer = store.writeBufferPoints();
    if (buffer.isEmpty()) return 1.0;
    long budget = IngestService.budgetFor(store, backpressureAt, maxInFlightPoints);
    return Math.min(1.0, budget / (double) buffer.getAsLong());
  }

  /** Builds the (not yet started) server; the caller manages its lifecycle. */
  public IngestServer build(SampleStore store, IngestMetrics metrics) {
    return build(store, metrics, IngestService.clockOffsets(limits));
  }

  /**
   * Builds the (not yet started) server; the caller manages its lifecycle.
   *
   * @param clocks measures each host's clock and places its reports (shared with the API)
   */
  public IngestServer build(SampleStore store, IngestMetrics metrics, ClockOffsets clocks) {
    var service =
        new IngestService(
            store,
            new ReportValidator(limits),
            metrics,
            maxInFlightPerStream,
            AgentQuotas.of(limits),
            IngestService.budgetFor(store, backpressureAt, maxInFlightPoints),
            clocks);
    List<AutoCloseable> closeables = new ArrayList<>();
    closeables.add(service);
    ScheduledExecutorService reloader =
        Executors.newSingleThreadScheduledExecutor(
            r ->
                Thread.ofPlatform()
                    .name("handlewatch-credentials-reload")
                    .daemon(true)
                    .unstarted(r));
    closeables.add(reloader::shutdownNow);
    AgentTokens tokens = null;
    if (auth.mode.tokens()) {
      tokens = AgentTokens.load("ingest.auth.tokensFile", Path.of(auth.tokensFile));
      long every = auth.tokensReloadInterval.toMilliseconds();
      reloader.scheduleWithFixedDelay(tokens::reloadIfChanged, every, every, TimeUnit.MILLISECONDS);
    }
    var address = new InetSocketAddress(bindHost, port);
    var guard = new ConnectionGuard(maxConnections, maxConnectionsPerPeer, metrics);
    // Our own NIO event loops, because the guard is an NIO server channel; closed after the
    // server has terminated.
    var boss =
        new MultiThreadIoEventLoopGroup(
            1,
            new DefaultThreadFactory("handlewatch-ingest-accept", true),
            NioIoHandler.newFactory());
    var workers =
        new MultiThreadIoEventLoopGroup(
            0, new DefaultThreadFactory("handlewatch-ingest-io", true), NioIoHandler.newFactory());
    closeables.add(() -> workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5_000));
    closeables.add(() -> boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5_000));
    var builder =
        (tls == null
                ? NettyServerBuilder.forAddress(address)
                : NettyServerBuilder.forAddress(address, tls.credentials(reloader)))
            .addService(
                io.grpc.ServerInterceptors.intercept(
                    service,
                    new AgentAuthenticator(auth.mode, tokens, auth.allowPlaintextTokens, metrics),
                    IngestService.PeerAddress.interceptor()))
            .channelFactory(guard.channelFactory())
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers)
            .maxConnectionIdle(idleTimeout.toMilliseconds(), TimeUnit.MILLISECONDS)
            .handshakeTimeout(handshakeTimeout.toMilliseconds(), TimeUnit.MILLISECONDS)
            .addStreamTracerFactory(StreamEnd.factory())
            .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, maxMessageSize.toBytes()))
            .permitKeepAliveTime(permitKeepAliveTime.toMilliseconds(), TimeUnit.MILLISECONDS)
            .permitKeepAliveWithoutCalls(true)
            .keepAliveTime(keepAliveTime.toMilliseconds(), TimeUnit.MILLISECONDS)
            .keepAliveTimeout(keepAliveTimeout.toMilliseconds(), TimeUnit.MILLISECONDS);
    return new IngestServer(
        builder.build(),
        bindHost,
        port,
        shutdownGrace,
        (tls == null ? "plaintext" : "TLS, client certificates " + tls.clientAuth)
            + ", agent auth "
            + auth.mode,
        closeables,
        guard::open);
  }
}
