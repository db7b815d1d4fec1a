package io.handlewatch.agent.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A child process for live tests: opens N client connections to 127.0.0.1:PORT, prints "READY" and
 * holds them, never closing, until its stdin closes. When the server closes its side, these sockets
 * sit in CLOSE_WAIT: the leak the agent must attribute to this process.
 */
public final class CloseWaitChild {
  private CloseWaitChild() {}

  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(args[0]);
    int n = Integer.parseInt(args[1]);
    List<SocketChannel> held = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      held.add(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)));
    }
    System.out.println("READY " + ProcessHandle.current().pid());
    System.out.flush();
    // Blocks until the parent closes our stdin (or dies): the test's cleanup ends us.
    while (System.in.read() >= 0) {
      // ignore input
    }
    System.out.println("held " + held.size());
  }
}
