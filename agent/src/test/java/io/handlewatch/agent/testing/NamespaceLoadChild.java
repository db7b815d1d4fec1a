package io.handlewatch.agent.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A child for namespace tests, started inside a network namespace ({@code ip netns exec}): on
 * 127.0.0.1 and on ::1 it listens, holds ESTABLISHED pairs, leaves TIME_WAIT sockets (the client
 * closes first) and holds client sockets in CLOSE_WAIT (the server closed them), then prints "READY
 * pid port4 port6" and holds everything until its stdin closes.
 *
 * <p>Arguments: established pairs, CLOSE_WAIT sockets, TIME_WAIT sockets, per address family.
 */
public final class NamespaceLoadChild {
  private NamespaceLoadChild() {}

  public static void main(String[] args) throws IOException {
    int established = Integer.parseInt(args[0]);
    int closeWait = Integer.parseInt(args[1]);
    int timeWait = Integer.parseInt(args[2]);
    List<AutoCloseable> held = new ArrayList<>();
    int[] ports = new int[2];
    String[] hosts = {"127.0.0.1", "::1"};
    for (int f = 0; f < 2; f++) {
      InetAddress lo = InetAddress.getByName(hosts[f]);
      ServerSocketChannel server =
          ServerSocketChannel.open().bind(new InetSocketAddress(lo, 0), 256);
      held.add(server);
      int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
      ports[f] = port;
      for (int i = 0; i < established; i++) {
        held.add(SocketChannel.open(new InetSocketAddress(lo, port)));
        held.add(server.accept());
      }
      for (int i = 0; i < closeWait; i++) {
        held.add(SocketChannel.open(new InetSocketAddress(lo, port)));
        server.accept().close(); // the client's end goes to CLOSE_WAIT and stays there
      }
      for (int i = 0; i < timeWait; i++) {
        SocketChannel c = SocketChannel.open(new InetSocketAddress(lo, port));
        SocketChannel a = server.accept();
        c.setOption(StandardSocketOptions.SO_LINGER, -1);
        c.close(); // the client closes first: its end goes to TIME_WAIT once the server closes
        awaitEof(a);
        a.close();
      }
    }
    System.out.println("READY " + ProcessHandle.current().pid() + " " + ports[0] + " " + ports[1]);
    System.out.flush();
    while (System.in.read() >= 0) {
      // ignore input: the parent closing stdin ends us
    }
    System.out.println("held " + held.size());
  }

  private static void awaitEof(SocketChannel a) throws IOException {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16);
    while (a.read(b) >= 0) {
      b.clear();
    }
  }
}
