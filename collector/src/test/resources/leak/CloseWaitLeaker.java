import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A process with the classic CLOSE_WAIT bug, for LeakPagingIT: it opens a connection to
 * 127.0.0.1:PORT every second (or every MILLIS) and never closes it; the server closes its side, so each socket sits
 * in CLOSE_WAIT here. Reads commands on stdin: "close" closes every socket it holds and stops
 * connecting (the bug fixed without a restart). Prints one line per event.
 *
 * <p>Run as a single-file program: {@code java CloseWaitLeaker.java PORT [MILLIS]}.
 */
public class CloseWaitLeaker {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    long every = args.length > 1 ? Long.parseLong(args[1]) : 1000;
    List<Socket> held = new ArrayList<>();
    Thread leak =
        new Thread(
            () -> {
              try {
                while (!Thread.currentThread().isInterrupted()) {
                  Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
                  synchronized (held) {
                    held.add(s);
                  }
                  Thread.sleep(every);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (Exception e) {
                System.out.println("leak stopped: " + e);
              }
            });
    leak.start();
    System.out.println("leaking towards 127.0.0.1:" + port + " from pid " + ProcessHandle.current().pid());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.equals("close")) {
        leak.interrupt();
        leak.join();
        synchronized (held) {
          for (Socket s : held) s.close();
          System.out.println("closed " + held.size() + " sockets");
          held.clear();
        }
      }
    }
  }
}
