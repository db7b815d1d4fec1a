package io.handlewatch.collector.ingest;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFactory;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.grpc.netty.shaded.io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ingest port's door: caps connections in total and per peer address (refused ones are closed
 * as soon as they are accepted, before any TLS work), and on close, names what a failed TLS
 * handshake was refused for (a certificate from another CA, an expired one, one not made for a
 * client), so each refusal is counted and logged with its peer.
 */
final class ConnectionGuard {
  private static final Logger log = LoggerFactory.getLogger(ConnectionGuard.class);

  /** A peer refused again within this time adds to a count instead of a log line. */
  private static final long QUIET_NANOS = 10_000_000_000L;

  private final int maxTotal;
  private final int maxPerPeer;
  private final IngestMetrics metrics;
  private final AtomicInteger open = new AtomicInteger();
  private final Map<InetAddress, Integer> perPeer = new ConcurrentHashMap<>();
  private final Map<InetAddress, long[]> lastRefusalLine = new ConcurrentHashMap<>();

  ConnectionGuard(int maxTotal, int maxPerPeer, IngestMetrics metrics) {
    this.maxTotal = maxTotal;
    this.maxPerPeer = maxPerPeer;
    this.metrics = metrics;
    metrics.connectionsOpen(open::get);
  }

  /** The server channel gRPC listens with: NIO, with this guard at its accept. */
  ChannelFactory<ServerChannel> channelFactory() {
    return GuardedServerChannel::new;
  }

  int open() {
    return open.get();
  }

  /** Takes a slot for a connection from {@code peer}; null if it got one, else the cap it hit. */
  String admit(InetAddress peer) {
    if (open.incrementAndGet() > maxTotal) {
      open.decrementAndGet();
      return "total";
    }
    boolean[] taken = {false};
    perPeer.compute(
        peer,
        (p, n) -> {
          int now = n == null ? 0 : n;
          if (now >= maxPerPeer) return n;
          taken[0] = true;
          return now + 1;
        });
    if (!taken[0]) {
      open.decrementAndGet();
      return "per_peer";
    }
    return null;
  }

  void release(InetAddress peer) {
    perPeer.computeIfPresent(peer, (p, n) -> n <= 1 ? null : n - 1);
    open.decrementAndGet();
  }

  private void refused(InetSocketAddress peer, String cap) {
    metrics.connectionRefused(cap);
    long now = System.nanoTime();
    long[] last = lastRefusalLine.computeIfAbsent(peer.getAddress(), p -> new long[] {0, 0});
    long suppressed;
    synchronized (last) {
      if (last[0] != 0 && now - last[0] < QUIET_NANOS) {
        last[1]++;
        return;
      }
      suppressed = last[1];
      last[0] = now;
      last[1] = 0;
    }
    log.warn(
        "ingest connection refused: peer={} cap={} limit={} open={}{}",
        peer,
        cap.equals("total") ? "ingest.maxConnections" : "ingest.maxConnectionsPerPeer",
        cap.equals("total") ? maxTotal : maxPerPeer,
        cap.equals("total") ? open.get() : perPeer.getOrDefault(peer.getAddress(), 0),
        suppressed == 0 ? "" : " (" + suppressed + " more from this peer since the last line)");
    if (lastRefusalLine.size() > 10_000) lastRefusalLine.clear();
  }

  /** What a failed handshake's cause says, in a few words an operator can act on. */
  static String tlsReason(Throwable cause) {
    String last = null;
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof CertificateExpiredException) return "certificate expired";
      if (t instanceof CertificateNotYetValidException) return "certificate not yet valid";
      if (t instanceof SslHandshakeTimeoutException) return "handshake timed out";
      String m = String.valueOf(t.getMessage());
      if (m.contains("Extended key usage") || m.contains("KeyUsage")) {
        return "certificate not made for a client (key usage)";
      }
      if (t instanceof CertPathValidatorException v
          && v.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
        return "certificate expired";
      }
      if (m.contains("unable to find valid certification path")
          || m.contains("Path does not chain")
          || m.contains("No trusted certificate found")) {
        return "certificate not signed by ingest.tls.clientCaFile";
      }
      if (m.contains("not an SSL/TLS record")) return "not TLS";
      if (m.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE")
          || m.contains("empty certificate chain")) {
        return "no client certificate";
      }
      last = t.getClass().getSimpleName() + ": " + m;
    }
    return last == null ? "unknown" : last;
  }

  private final class GuardedServerChannel extends NioServerSocketChannel {
    @Override
    protected int doReadMessages(List<Object> buf) throws Exception {
      SocketChannel ch = javaChannel().accept();
      if (ch == null) return 0;
      InetSocketAddress peer;
      try {
        peer = (InetSocketAddress) ch.getRemoteAddress();
      } catch (IOException gone) {
        ch.close();
        return 0;
      }
      String cap = admit(peer.getAddress());
      if (cap != null) {
        // Counted, then closed before any TLS or HTTP/2 work: a flood costs an accept and a close.
        refused(peer, cap);
        ch.close();
        return 0;
      }
      try {
        buf.add(new GuardedChannel(this, ch, peer));
        return 1;
      } catch (RuntimeException e) {
        release(peer.getAddress());
        ch.close();
        throw e;
      }
    }
  }

  private final class GuardedChannel extends NioSocketChannel {
    private final InetSocketAddress peer;
    private final AtomicBoolean released = new AtomicBoolean();

    GuardedChannel(Channel parent, SocketChannel socket, InetSocketAddress peer) {
      super(parent, socket);
      this.peer = peer;
    }

    @Override
    protected void doClose() throws Exception {
      try {
        if (released.compareAndSet(false, true)) {
          release(peer.getAddress());
          SslHandler ssl = pipeline().get(SslHandler.class);
          Future<?> handshake = ssl == null ? null : ssl.handshakeFuture();
          if (handshake != null && handshake.isDone() && !handshake.isSuccess()) {
            String reason = tlsReason(handshake.cause());
            metrics.tlsRefused(peer.toString(), reason);
            log.warn("ingest TLS handshake refused: peer={} reason={}", peer, reason);
          }
        }
      } finally {
        super.doClose();
      }
    }
  }
}
