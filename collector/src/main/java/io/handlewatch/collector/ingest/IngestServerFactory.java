package io.handlewatch.collector.ingest;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDataSize;
import io.dropwizard.validation.MinDuration;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.handlewatch.collector.store.SampleStore;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.net.InetSocketAddress;
import java.time.Clock;
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
  public int maxInFlightPerStream = 64;

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

  /** How long shutdown waits for streams to finish before cutting them. */
  @NotNull @JsonProperty public Duration shutdownGrace = Duration.seconds(5);

  @Valid @NotNull @JsonProperty public ReportLimits limits = new ReportLimits();

  /** Builds the (not yet started) server; the caller manages its lifecycle. */
  public IngestServer build(SampleStore store, IngestMetrics metrics) {
    var service =
        new IngestService(
            store, new ReportValidator(limits, Clock.systemUTC()), metrics, maxInFlightPerStream);
    var builder =
        NettyServerBuilder.forAddress(new InetSocketAddress(bindHost, port))
            .addService(
                io.grpc.ServerInterceptors.intercept(
                    service, IngestService.PeerAddress.interceptor()))
            .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, maxMessageSize.toBytes()))
            .permitKeepAliveTime(permitKeepAliveTime.toMilliseconds(), TimeUnit.MILLISECONDS)
            .permitKeepAliveWithoutCalls(true)
            .keepAliveTime(keepAliveTime.toMilliseconds(), TimeUnit.MILLISECONDS)
            .keepAliveTimeout(keepAliveTimeout.toMilliseconds(), TimeUnit.MILLISECONDS);
    return new IngestServer(builder.build(), bindHost, port, shutdownGrace);
  }
}
