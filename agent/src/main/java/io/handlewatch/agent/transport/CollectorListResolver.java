package io.handlewatch.agent.transport;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * Resolves {@code --collector a:9400,b:9400} for gRPC: each entry's name to its addresses, one
 * group per collector, again whenever gRPC asks (a connection failed). Every collector is checked
 * under TLS against its own name, unless {@code --server-name} names them all. Entries that do not
 * resolve are left out and named; none resolving is an error gRPC retries with backoff.
 */
final class CollectorListResolver extends NameResolver {
  static final String SCHEME = "handlewatch-collectors";

  private final List<CollectorTargets.Address> addresses;
  private final boolean authorityPerCollector;
  private final SynchronizationContext sync;
  private final Executor executor;
  private Listener2 listener;
  private boolean resolving;
  private boolean shutdown;

  private CollectorListResolver(
      List<CollectorTargets.Address> addresses, boolean authorityPerCollector, Args args) {
    this.addresses = addresses;
    this.authorityPerCollector = authorityPerCollector;
    this.sync = args.getSynchronizationContext();
    Executor offload = args.getOffloadExecutor();
    this.executor = offload != null ? offload : Runnable::run;
  }

  /** The channel's resolver for {@code targets} (a list); see {@link CollectorChannels}. */
  static NameResolverProvider provider(CollectorTargets targets, boolean authorityPerCollector) {
    return new NameResolverProvider() {
      @Override
      public NameResolver newNameResolver(URI target, Args args) {
        return SCHEME.equals(target.getScheme())
            ? new CollectorListResolver(targets.addresses(), authorityPerCollector, args)
            : null;
      }

      @Override
      public String getDefaultScheme() {
        return SCHEME;
      }

      @Override
      protected boolean isAvailable() {
        return true;
      }

      @Override
      protected int priority() {
        return 5;
      }

      @Override
      public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
        return List.of(InetSocketAddress.class);
      }
    };
  }

  @Override
  public String getServiceAuthority() {
    return addresses.getFirst().toString();
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    resolve();
  }

  @Override
  public void refresh() {
    resolve();
  }

  /** Called in the synchronization context; the lookups run on the offload executor. */
  private void resolve() {
    if (resolving || shutdown) return;
    resolving = true;
    executor.execute(
        () -> {
          List<EquivalentAddressGroup> groups = new ArrayList<>();
          List<String> unresolved = new ArrayList<>();
          for (CollectorTargets.Address a : addresses) {
            try {
              List<SocketAddress> socket = new ArrayList<>();
              for (InetAddress ip : InetAddress.getAllByName(a.host())) {
                socket.add(new InetSocketAddress(ip, a.port()));
              }
              Attributes attrs =
                  authorityPerCollector
                      ? Attributes.newBuilder()
                          .set(EquivalentAddressGroup.ATTR_AUTHORITY_OVERRIDE, a.toString())
                          .build()
                      : Attributes.EMPTY;
              groups.add(new EquivalentAddressGroup(socket, attrs));
            } catch (UnknownHostException e) {
              unresolved.add(a.toString());
            }
          }
          sync.execute(
              () -> {
                resolving = false;
                if (shutdown) return;
                if (groups.isEmpty()) {
                  listener.onError(
                      Status.UNAVAILABLE.withDescription(
                          "no collector of --collector resolves: "
                              + String.join(", ", unresolved)));
                  return;
                }
                listener.onResult2(
                    ResolutionResult.newBuilder()
                        .setAddressesOrError(StatusOr.fromValue(groups))
                        .setAttributes(Attributes.EMPTY)
                        .build());
              });
        });
  }

  @Override
  public void shutdown() {
    shutdown = true;
  }
}
