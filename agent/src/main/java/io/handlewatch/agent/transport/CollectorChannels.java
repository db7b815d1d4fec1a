package io.handlewatch.agent.transport;

import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.IoHandlerFactory;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.EventExecutor;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * Builds the channel to the collectors ({@link CollectorTargets}: one stream to one of them, picked
 * at random, the next one when it fails), plaintext or TLS, with the agent's client certificate and
 * bearer token when it has them. Certificate, key and CA files are re-read every minute on {@code
 * reloader} when they change, so a renewed client certificate is used from the next connection on.
 *
 * <p>gRPC's callbacks (acks, stream readiness) and its blocking work (name resolution) run on
 * {@code reloader} too, the link's own thread: one stream needs no pool, and gRPC's default cached
 * pool kept up to three threads alive on every host (BENCHMARKS.md, "Agent daemon footprint").
 */
public final class CollectorChannels {
  private static final long RELOAD_MINUTES = 1;

  private CollectorChannels() {}

  /**
   * The link's one thread, to pass as {@code reloader} to {@link #open}: a Netty event loop (NIO)
   * that the channel's connection runs on too, so that the link, gRPC's callbacks and the
   * connection's I/O share one thread instead of two (BENCHMARKS.md, "Agent daemon footprint"). Its
   * thread is a daemon, named {@code name}.
   */
  public static ScheduledExecutorService linkThread(String name) {
    ThreadFactory thread = r -> Thread.ofPlatform().name(name).daemon(true).unstarted(r);
    return new MultiThreadIoEventLoopGroup(1, thread, ioHandler()).next();
  }

  /**
   * The same event loop as {@link #linkThread}, without a thread of its own: its loop, a task that
   * runs until the loop is shut down, is handed to {@code runner} once, when the first task is
   * given to the loop; whoever runs it (the daemon's main thread) is the link's thread.
   */
  public static ScheduledExecutorService linkLoop(Executor runner) {
    return new MultiThreadIoEventLoopGroup(1, runner, ioHandler()).next();
  }

  /**
   * epoll where Netty's native transport is available, as gRPC's own event loop would use: only it
   * sets TCP_USER_TIMEOUT to the keepalive timeout, which ends a connection whose reports go
   * unanswered within that timeout instead of at the next keepalive ping. NIO where the native
   * library cannot be loaded (no writable temporary directory, another libc).
   */
  private static IoHandlerFactory ioHandler() {
    return Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
  }

  /** Ends the loop of {@link #linkThread} or {@link #linkLoop} once its queued tasks have run. */
  public static void endLinkLoop(ScheduledExecutorService link) {
    if (link instanceof EventExecutor loop) {
      loop.parent().shutdownGracefully(0, 2, TimeUnit.SECONDS);
    } else {
      link.shutdown();
    }
  }

  /**
   * The channel to {@code --collector}'s value ({@link CollectorTargets#parse}).
   *
   * @throws IllegalArgumentException saying what is wrong with it, or naming the option whose file
   *     cannot be used
   */
  public static ManagedChannel open(
      String collector, LinkSecurity security, ScheduledExecutorService reloader) {
    return open(CollectorTargets.parse(collector), security, reloader, KeepAlive.DEFAULT);
  }

  /**
   * @throws IllegalArgumentException naming the option whose file cannot be used
   */
  @SuppressWarnings("deprecation") // nameResolverFactory: a resolver for this channel only
  public static ManagedChannel open(
      CollectorTargets targets,
      LinkSecurity security,
      ScheduledExecutorService reloader,
      KeepAlive keepAlive) {
    ChannelCredentials creds =
        security.tls() ? tls(security, reloader) : InsecureChannelCredentials.create();
    if (security.tokenFile() != null) {
      creds =
          CompositeChannelCredentials.create(
              creds,
              new BearerTokenCredentials(security.tokenFile(), security.allowPlaintextToken()));
    }
    var builder =
        NettyChannelBuilder.forTarget(targets.grpcTarget(), creds)
            .keepAliveTime(keepAlive.time().toMillis(), TimeUnit.MILLISECONDS)
            .keepAliveTimeout(keepAlive.timeout().toMillis(), TimeUnit.MILLISECONDS)
            .keepAliveWithoutCalls(true)
            .defaultServiceConfig(CollectorTargets.SERVICE_CONFIG)
            .disableServiceConfigLookUp()
            .executor(reloader)
            .offloadExecutor(reloader)
            .intercept(new CollectorPeerLog(targets.spec()));
    if (reloader instanceof EventLoop loop) {
      // The connection on the link's own event loop (linkThread) rather than on gRPC's shared one.
      builder
          .eventLoopGroup(loop)
          .channelType(Epoll.isAvailable() ? EpollSocketChannel.class : NioSocketChannel.class);
    }
    if (targets.isList()) {
      builder.nameResolverFactory(
          CollectorListResolver.provider(targets, security.serverName() == null));
    }
    if (security.serverName() != null) builder.overrideAuthority(security.serverName());
    return builder.build();
  }

  private static ChannelCredentials tls(LinkSecurity s, ScheduledExecutorService reloader) {
    var builder = TlsChannelCredentials.newBuilder();
    if (s.caCert() != null) {
      try {
        var trust =
            AdvancedTlsX509TrustManager.newBuilder()
                .setVerification(
                    AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION)
                .build();
        trust.updateTrustCredentials(
            s.caCert().toFile(), RELOAD_MINUTES, TimeUnit.MINUTES, reloader);
        builder.trustManager(trust);
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalArgumentException(
            "--ca-cert: cannot load " + s.caCert() + " (PEM certificates): " + e, e);
      }
    }
    if (s.clientCert() != null) {
      try {
        var keys = new AdvancedTlsX509KeyManager();
        keys.updateIdentityCredentials(
            s.clientCert().toFile(),
            s.clientKey().toFile(),
            RELOAD_MINUTES,
            TimeUnit.MINUTES,
            reloader);
        builder.keyManager(keys);
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalArgumentException(
            "--client-cert/--client-key: cannot load "
                + s.clientCert()
                + " and "
                + s.clientKey()
                + " (PEM certificate and unencrypted PKCS#8 key): "
                + e,
            e);
      }
    }
    return builder.build();
  }
}
