package io.handlewatch.agent.transport;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.lang.System.Logger.Level;
import java.net.SocketAddress;

/**
 * Says in the log which collector a stream reached (its address), since with several collectors
 * behind {@code --collector} the agent may land on any of them, and on another after a reconnect.
 * Behind a load balancer this is the balancer's address.
 */
final class CollectorPeerLog implements ClientInterceptor {
  private static final System.Logger log = System.getLogger(CollectorPeerLog.class.getName());

  private final String spec;

  CollectorPeerLog(String spec) {
    this.spec = spec;
  }

  @Override
  public <Q, A> ClientCall<Q, A> interceptCall(
      MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<A> listener, Metadata headers) {
        ClientCall<Q, A> call = delegate();
        super.start(
            new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onHeaders(Metadata responseHeaders) {
                SocketAddress peer = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
                log.log(Level.INFO, "stream accepted by collector {0} (of {1})", peer, spec);
                super.onHeaders(responseHeaders);
              }
            },
            headers);
      }
    };
  }
}
