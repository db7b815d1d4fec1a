import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * The other end of a CLOSE_WAIT leak, for tests that run it inside a network namespace: listens on
 * 127.0.0.1 (an ephemeral port, printed as "listening PORT") and closes every connection at once,
 * so a client that never closes its side holds a CLOSE_WAIT socket. Runs until killed.
 *
 * <p>Run as a single-file program: {@code java ClosingServer.java}.
 */
public class ClosingServer {
  public static void main(String[] args) throws Exception {
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      System.out.println("listening " + server.getLocalPort());
      System.out.flush();
      while (true) {
        try (Socket s = server.accept()) {
          // closed at once: the peer sees FIN and its socket sits in CLOSE_WAIT
        }
      }
    }
  }
}
