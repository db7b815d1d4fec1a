package io.handlewatch.collector.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A loopback server that accepts connections and closes each at once: its clients' sockets go to
 * CLOSE_WAIT unless they close them. The leak-paging tests point a leaking child at it.
 */
public final class ClosingServer {
  private ClosingServer() {}

  /** Starts one on a free port; close the returned socket to stop it. */
  public static ServerSocket start() throws IOException {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofPlatform()
        .daemon(true)
        .name("closing-server")
        .start(
            () -> {
              while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                  // closed by try-with-resources: the peer sees FIN and sits in CLOSE_WAIT
                } catch (IOException e) {
                  if (!server.isClosed()) throw new IllegalStateException(e);
                }
              }
            });
    return server;
  }
}
