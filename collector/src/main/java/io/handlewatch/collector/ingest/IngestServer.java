package io.handlewatch.collector.ingest;

import io.dropwizard.lifecycle.Managed;
import io.dropwizard.util.Duration;
import io.grpc.Server;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The gRPC ingest server as a Dropwizard {@link Managed}: started and stopped with the app. */
public final class IngestServer implements Managed {
  private static final Logger log = LoggerFactory.getLogger(IngestServer.class);

  private final Server server;
  private final String bindHost;
  private final int configuredPort;
  private final Duration shutdownGrace;
  private final String security;
  private final List<AutoCloseable> closeables;
  private final java.util.function.IntSupplier openConnections;

  IngestServer(
      Server server,
      String bindHost,
      int port,
      Duration shutdownGrace,
      String security,
      List<AutoCloseable> closeables,
      java.util.function.IntSupplier openConnections) {
    this.server = server;
    this.openConnections = openConnections;
    this.bindHost = bindHost;
    this.configuredPort = port;
    this.shutdownGrace = shutdownGrace;
    this.security = security;
    this.closeables = List.copyOf(closeables);
  }

  @Override
  public void start() throws IOException {
    try {
      server.start();
    } catch (IOException e) {
      throw new IOException(
          "cannot listen for agents on "
              + bindHost
              + ":"
              + configuredPort
              + " (ingest.port): "
              + e.getMessage(),
          e);
    }
    log.info("ingest listening for agents on {}:{} ({})", bindHost, port(), security);
  }

  /** The port actually bound (differs from the configured one when that is 0). */
  public int port() {
    return server.getListenSockets().stream()
        .filter(InetSocketAddress.class::isInstance)
        .map(a -> ((InetSocketAddress) a).getPort())
        .findFirst()
        .orElse(configuredPort);
  }

  /** Connections the ingest port holds now (agents, and any not yet authenticated). */
  public int openConnections() {
    return openConnections.getAsInt();
  }

  public boolean isRunning() {
    return !server.isShutdown() && !server.isTerminated();
  }

  @Override
  public void stop() throws InterruptedException {
    server.shutdown();
    if (!server.awaitTermination(shutdownGrace.toMilliseconds(), TimeUnit.MILLISECONDS)) {
      log.info("ingest: streams still open after {}, closing them", shutdownGrace);
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("ingest: closing {} failed: {}", c, e.toString());
      }
    }
    log.info("ingest stopped");
  }
}
