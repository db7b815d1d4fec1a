// SocketLoad: holds a requested mix of real TCP sockets on loopback until told to stop.
//
//   java bench/SocketLoad.java --established 80000 --close-wait 10000 --time-wait 10000 \
//       [--listeners K] [--time-wait-mode once|steady] [--hold-seconds 1800] [--base-port 21000]
//
// Run it with a JDK 25 (single-file source launch, no build, no dependencies). It is a coordinator
// that forks worker JVMs (this same class with --worker), because one process may hold at most
// RLIMIT_NOFILE fds (hard limit 20,000 on the benchmark machines): each worker holds at most
// --fds-per-worker (default 18,000) descriptors.
//
// What it makes, all on 127.0.0.0/8, listeners on ports base-port.. (outside the ephemeral range),
// spread over --addresses (default 4) addresses 127.0.0.1..127.0.0.4:
//   --established N   N connection pairs (client + accepted server side): 2N ESTABLISHED sockets.
//   --close-wait N    N client sockets in CLOSE_WAIT: the server side closed and vanished, the
//                     client never closes. The server side is closed with TCP_LINGER2 = 1 s, so its
//                     orphaned FIN_WAIT2 socket goes away silently after about a second instead of
//                     tcp_fin_timeout (60 s): only the CLOSE_WAIT socket remains. (TCP_LINGER2 = -1
//                     would not do: the kernel then answers the peer's ACK with a RST.)
//   --time-wait N     N client sockets in TIME_WAIT (the client closed first), from source
//                     addresses 127.0.0.101-104 with source ports it picks itself in
//                     ip_local_port_range, cycling, so that connect() never recycles one of them
//                     (tcp_tw_reuse=2 recycles loopback TIME_WAIT sockets older than 1 s).
//                     TIME_WAIT lasts 60 s (fixed in the kernel, plus 0-2 s of timer slack), so:
//                       --time-wait-mode once    makes them once; READY says when (time_wait_at=)
//                                                and they are gone 60-62 s later.
//                       --time-wait-mode steady  keeps about N alive by making N/61.3 per second
//                                                (a light, steady churn: 163 connects/s for
//                                                N=10,000); READY waits until the count reached
//                                                N, about a minute after start.
//   --listeners K     at least K listening sockets (default: as many as the load needs, one per
//                     worker plus the TIME_WAIT ones); extra ones take part in the round robin.
//
// Workers make sockets with plain libc calls through the FFM API (socket, connect, accept4, ...):
// a held socket costs an int, not a Java object, so a worker runs in ~50 MB RSS. The 170,000-socket
// mix (80,000 pairs + 10,000 CLOSE_WAIT + 10,000 TIME_WAIT) takes 10 workers and ~10 s on 2 cores.
//
// Established and CLOSE_WAIT sockets carry SO_LINGER {on, 0}: when SocketLoad stops they are reset
// rather than closed, so stopping it leaves no TIME_WAIT behind (only the TIME_WAIT sockets it made
// on purpose run out their 60 s).
//
// Output (stdout): one line `READY established=<sockets> close_wait=.. time_wait=.. listeners=..
// pids=<worker pids> ...` once every socket is in place (counted with `ss`, filtered to its ports),
// then `STOPPED ...` when it exits. Progress and errors go to stderr.
// It stops, killing its workers, on SIGTERM/SIGINT, when its stdin reaches EOF (unless
// --ignore-stdin), after --hold-seconds, or when a worker dies. Workers also stop when the
// coordinator's pipe to them closes, so even a SIGKILLed coordinator leaves nothing behind.
//
// Exit codes: 0 stopped normally, 1 setup failed or a worker died, 2 bad arguments.

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

public final class SocketLoad {
  /** Fds a worker keeps for itself (JVM jars, pipes, listeners) on top of its sockets. */
  static final int WORKER_OVERHEAD_FDS = 200;
  /** Connections per listener for held sockets: well under the ~28k ephemeral ports per endpoint. */
  static final int CONNECTIONS_PER_LISTENER = 16_000;
  /** TIME_WAIT sockets per TIME_WAIT listener (they spread the remote endpoints a little). */
  static final int TIME_WAIT_PER_LISTENER = 5_000;
  /**
   * Source addresses of the TIME_WAIT clients, which bind their source port themselves (cycling
   * through 4 x 28k source endpoints) instead of letting connect() pick one. connect() walks the
   * ephemeral range per destination with a random stride of about 9 ports (Linux 6.x
   * __inet_hash_connect), so it laps the range every ~3,100 connects; a lap that comes round
   * within 60 s meets our own TIME_WAIT sockets, and tcp_tw_reuse (2 = loopback, the default)
   * recycles them: at 3,100 per destination, steady mode kept ~10 % fewer than asked.
   */
  static final String[] TIME_WAIT_SOURCES = {"127.0.0.101", "127.0.0.102", "127.0.0.103",
      "127.0.0.104"};
  /**
   * Mean TIME_WAIT lifetime in steady mode: 60 s plus the kernel's timer slack (a 60 s timer lands
   * in a wheel level with 2 s granularity at HZ=250, 4 s at HZ=1000). Measured on kernel 6.18,
   * HZ=250: 100 per second kept 6,060-6,200 alive.
   */
  static final double TIME_WAIT_LIFETIME_S = 61.3;

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--worker")) {
      Worker.run(Arrays.copyOfRange(args, 1, args.length));
    } else {
      int rc;
      try {
        rc = Coordinator.run(args);
      } catch (Throwable t) {
        if (!Coordinator.stopping) { // while stopping, ss and workers die under us: not news
          System.err.println("SocketLoad: " + t);
        }
        rc = 1;
      }
      System.exit(rc);
    }
  }

  static void log(String msg) {
    System.err.println("[SocketLoad " + Instant.now() + "] " + msg);
  }

  // ---------------------------------------------------------------------------------------------
  // Options
  // ---------------------------------------------------------------------------------------------

  static final class BadArgs extends Exception {
    private static final long serialVersionUID = 1L;

    BadArgs(String m) {
      super(m);
    }
  }

  /** Parses "--name value" pairs (and bare flags listed in {@code flags}). */
  static Map<String, String> parse(String[] args, List<String> known, List<String> flags)
      throws BadArgs {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String name = a;
      String value = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        name = a.substring(0, eq);
        value = a.substring(eq + 1);
      }
      if (flags.contains(name)) {
        m.put(name, value == null ? "true" : value);
        continue;
      }
      if (!known.contains(name)) {
        throw new BadArgs("unknown option: " + a);
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          throw new BadArgs("missing value for " + a);
        }
        value = args[++i];
      }
      m.put(name, value);
    }
    return m;
  }

  static long num(Map<String, String> m, String name, long dflt, long min, long max) throws BadArgs {
    String v = m.get(name);
    if (v == null) {
      return dflt;
    }
    long n;
    try {
      n = Long.parseLong(v.replace("_", "").replace(",", ""));
    } catch (NumberFormatException e) {
      throw new BadArgs(name + ": not a number: " + v);
    }
    if (n < min || n > max) {
      throw new BadArgs(name + " must be in [" + min + ", " + max + "], got " + n);
    }
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // Coordinator
  // ---------------------------------------------------------------------------------------------

  record Endpoint(String ip, int port) {
    @Override
    public String toString() {
      return ip + ":" + port;
    }

    static Endpoint parse(String s) {
      int c = s.lastIndexOf(':');
      return new Endpoint(s.substring(0, c), Integer.parseInt(s.substring(c + 1)));
    }
  }

  /** What one worker makes. */
  record Share(int id, long pairs, long closeWait, long timeWait, List<Endpoint> listeners,
      List<Endpoint> timeWaitListeners) {
    long fds() {
      return 2 * pairs + closeWait + listeners.size() + timeWaitListeners.size();
    }
  }

  static final class WorkerProc {
    final Share share;
    final Process process;
    volatile String readyLine;
    volatile String error;
    volatile boolean rampDone;

    WorkerProc(Share share, Process process) {
      this.share = share;
      this.process = process;
    }
  }

  static final class Coordinator {
    static final List<String> KNOWN = List.of("--established", "--close-wait", "--time-wait",
        "--listeners", "--hold-seconds", "--time-wait-mode", "--base-port", "--addresses",
        "--fds-per-worker", "--ready-timeout", "--java");
    static final List<String> FLAGS = List.of("--ignore-stdin", "--help", "-h");

    static final List<WorkerProc> workers = new ArrayList<>();
    static volatile boolean stopping;
    static volatile boolean readySaid;
    static Path classDir;

    static int run(String[] args) throws Exception {
      Map<String, String> o;
      long pairs, closeWait, timeWait, minListeners, hold, basePort, addresses, fdsPerWorker,
          readyTimeout;
      boolean steady;
      try {
        o = parse(args, KNOWN, FLAGS);
        if (o.containsKey("--help") || o.containsKey("-h")) {
          usage();
          return 0;
        }
        pairs = num(o, "--established", 0, 0, 5_000_000);
        closeWait = num(o, "--close-wait", 0, 0, 5_000_000);
        timeWait = num(o, "--time-wait", 0, 0, 1_000_000);
        minListeners = num(o, "--listeners", 0, 0, 10_000);
        hold = num(o, "--hold-seconds", 1800, 1, 7 * 86400);
        basePort = num(o, "--base-port", 21000, 1024, 65000);
        addresses = num(o, "--addresses", 4, 1, 250);
        fdsPerWorker = num(o, "--fds-per-worker", 18_000, 1_000, 10_000_000);
        readyTimeout = num(o, "--ready-timeout", 120, 5, 3600);
        String mode = o.getOrDefault("--time-wait-mode", "once");
        if (!mode.equals("once") && !mode.equals("steady")) {
          throw new BadArgs("--time-wait-mode must be once or steady, got " + mode);
        }
        steady = mode.equals("steady");
      } catch (BadArgs e) {
        System.err.println("SocketLoad: " + e.getMessage());
        usage();
        return 2;
      }
      long start = System.nanoTime();

      // Plan: spread held fds evenly over as few workers as the per-worker budget allows.
      int batch = batchSize();
      long twTransient = timeWait > 0 ? 2L * batch + 16 : 0;
      long budget = fdsPerWorker - WORKER_OVERHEAD_FDS;
      long need = 2 * pairs + closeWait + twTransient;
      int nWorkers = (int) Math.max(1, (need + budget - 1) / budget);
      // Each worker: one listener per CONNECTIONS_PER_LISTENER clients (at least one if it has any).
      List<long[]> counts = new ArrayList<>();
      int listenersNeeded = 0;
      for (int w = 0; w < nWorkers; w++) {
        long p = pairs / nWorkers + (w < pairs % nWorkers ? 1 : 0);
        long c = closeWait / nWorkers + (w < closeWait % nWorkers ? 1 : 0);
        long l = (p + c + CONNECTIONS_PER_LISTENER - 1) / CONNECTIONS_PER_LISTENER;
        if (l == 0 && (p + c) > 0) {
          l = 1;
        }
        counts.add(new long[] {p, c, l});
        listenersNeeded += (int) l;
      }
      int twListeners = timeWait == 0 ? 0
          : (int) ((timeWait * 11 / 10 + TIME_WAIT_PER_LISTENER - 1) / TIME_WAIT_PER_LISTENER);
      listenersNeeded += twListeners;
      int totalListeners = (int) Math.max(minListeners, listenersNeeded);
      if (minListeners > 0 && minListeners < listenersNeeded) {
        log("--listeners " + minListeners + " is too few for this load; using " + listenersNeeded);
      }
      // Extra listeners (beyond what the load needs) go round robin to the workers.
      for (int i = 0, w = 0; i < totalListeners - listenersNeeded; i++, w = (w + 1) % nWorkers) {
        counts.get(w)[2]++;
      }
      if (basePort + totalListeners - 1 > 65535) {
        System.err.println("SocketLoad: --base-port " + basePort + " + " + totalListeners
            + " listeners runs past port 65535");
        return 2;
      }
      int[] eph = ephemeralRange();
      if (eph != null && basePort <= eph[1] && basePort + totalListeners - 1 >= eph[0]) {
        log("warning: listener ports " + basePort + "-" + (basePort + totalListeners - 1)
            + " overlap ip_local_port_range " + eph[0] + "-" + eph[1]);
      }
      int next = 0;
      List<Share> shares = new ArrayList<>();
      for (int w = 0; w < nWorkers; w++) {
        long[] c = counts.get(w);
        List<Endpoint> ls = new ArrayList<>();
        for (int i = 0; i < c[2]; i++, next++) {
          ls.add(new Endpoint("127.0.0." + (1 + next % addresses), (int) (basePort + next)));
        }
        List<Endpoint> tws = new ArrayList<>();
        if (w == 0) {
          for (int i = 0; i < twListeners; i++, next++) {
            tws.add(new Endpoint("127.0.0." + (1 + next % addresses), (int) (basePort + next)));
          }
        }
        shares.add(new Share(w, c[0], c[1], w == 0 ? timeWait : 0, ls, tws));
      }
      int lastPort = (int) (basePort + totalListeners - 1);
      String filter = "( sport >= :" + basePort + " and sport <= :" + lastPort + " ) or ( dport >= :"
          + basePort + " and dport <= :" + lastPort + " )";

      Set<String> oldTw = new HashSet<>();
      Map<String, Long> before = countStates(basePort, lastPort, filter, Set.of(), oldTw);
      if (before.getOrDefault("LISTEN", 0L) > 0 || before.getOrDefault("ESTAB", 0L) > 0) {
        System.err.println("SocketLoad: ports " + basePort + "-" + lastPort
            + " are in use already (" + before + "); pick another --base-port");
        return 1;
      }
      if (!oldTw.isEmpty()) {
        log(oldTw.size() + " TIME_WAIT sockets from an earlier run on ports " + basePort + "-"
            + lastPort + "; they expire within about a minute and are not counted");
      }

      log("plan: " + nWorkers + " worker(s), " + totalListeners + " listener(s) on ports " + basePort
          + "-" + lastPort + ", batch " + batch + ", time-wait mode " + (steady ? "steady" : "once"));

      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        stopWorkers();
        stopped("signal");
      }, "stop-workers"));
      LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();

      String java = o.getOrDefault("--java",
          Path.of(System.getProperty("java.home"), "bin", "java").toString());
      classDir = writeClasses();
      for (Share s : shares) {
        List<String> cmd = new ArrayList<>(List.of(java, "-Xms8m", "-Xmx48m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-Xss256k", "-XX:+UseCompactObjectHeaders",
            "-XX:-UsePerfData", "--enable-native-access=ALL-UNNAMED"));
        if (classDir != null) {
          cmd.addAll(List.of("-cp", classDir.toString(), "SocketLoad"));
        } else {
          cmd.add(sourceFile());
        }
        cmd.addAll(List.of("--worker", "--id", "" + s.id(), "--established", "" + s.pairs(),
            "--close-wait", "" + s.closeWait(), "--time-wait", "" + s.timeWait(),
            "--time-wait-mode", steady ? "steady" : "once", "--batch", "" + batch,
            "--hold-seconds", "" + (hold + 120), "--listen", join(s.listeners()),
            "--time-wait-listen", join(s.timeWaitListeners())));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p;
        synchronized (workers) {
          if (stopping) {
            return 1;
          }
          p = pb.start();
          WorkerProc wp = new WorkerProc(s, p);
          workers.add(wp);
          Thread t = new Thread(() -> readWorker(wp, events), "worker-out-" + s.id());
          t.setDaemon(true);
          t.start();
        }
      }

      // Wait for every worker to report its sockets, then count them with ss.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(readyTimeout
          + (steady && timeWait > 0 ? (long) TIME_WAIT_LIFETIME_S + 10 : 0));
      while (true) {
        String bad = firstFailure();
        if (bad != null) {
          System.err.println("SocketLoad: " + bad);
          return 1;
        }
        boolean all = workers.stream().allMatch(w -> w.readyLine != null
            && (!steady || w.share.timeWait() == 0 || w.rampDone));
        if (all) {
          break;
        }
        if (System.nanoTime() > deadline) {
          System.err.println("SocketLoad: workers not ready within the timeout");
          return 1;
        }
        events.poll(200, TimeUnit.MILLISECONDS);
      }
      long created = System.nanoTime();
      log("workers report their sockets in place after " + ms(created - start) + " ms; counting with ss");

      long wantEstab = 2 * pairs;
      Map<String, Long> now = Map.of();
      while (true) {
        now = countStates(basePort, lastPort, filter, oldTw, null);
        long tw = now.getOrDefault("TIME-WAIT", 0L);
        // Steady mode: the count saw-tooths by the kernel's timer granularity (2-4 s of creations).
        boolean twOk = steady ? tw >= timeWait * 95 / 100 - 3 : tw >= timeWait;
        if (now.getOrDefault("ESTAB", 0L) == wantEstab
            && now.getOrDefault("CLOSE-WAIT", 0L) == closeWait
            && now.getOrDefault("LISTEN", 0L) == totalListeners
            && now.getOrDefault("FIN-WAIT-2", 0L) == 0 && twOk) {
          break;
        }
        String bad = firstFailure();
        if (bad != null) {
          System.err.println("SocketLoad: " + bad);
          return 1;
        }
        if (System.nanoTime() > deadline) {
          System.err.println("SocketLoad: socket counts did not reach the target: want ESTAB="
              + wantEstab + " CLOSE-WAIT=" + closeWait + " TIME-WAIT=" + timeWait + " LISTEN="
              + totalListeners + ", have " + now);
          return 1;
        }
        Thread.sleep(500);
      }
      long ready = System.nanoTime();
      StringBuilder pids = new StringBuilder();
      String twAt = null;
      for (WorkerProc w : workers) {
        pids.append(pids.isEmpty() ? "" : ",").append(w.process.pid());
        String at = field(w.readyLine, "time_wait_at");
        if (at != null && !at.equals("-")) {
          twAt = at;
        }
      }
      long others = now.entrySet().stream()
          .filter(e -> !List.of("ESTAB", "CLOSE-WAIT", "TIME-WAIT", "LISTEN").contains(e.getKey()))
          .mapToLong(Map.Entry::getValue).sum();
      System.out.println("READY established=" + now.getOrDefault("ESTAB", 0L)
          + " close_wait=" + now.getOrDefault("CLOSE-WAIT", 0L)
          + " time_wait=" + now.getOrDefault("TIME-WAIT", 0L)
          + " listeners=" + now.getOrDefault("LISTEN", 0L)
          + " other=" + others
          + " pids=" + pids
          + " coordinator=" + ProcessHandle.current().pid()
          + " ports=" + basePort + "-" + lastPort
          + " time_wait_mode=" + (steady ? "steady" : "once")
          + (twAt != null ? " time_wait_at=" + twAt : "")
          + (!steady && twAt != null
              ? " time_wait_expires_after=" + Instant.parse(twAt).plusSeconds(60) : "")
          + " setup_ms=" + ms(ready - start));
      System.out.flush();
      readySaid = true;

      if (!o.containsKey("--ignore-stdin")) {
        Thread t = new Thread(() -> {
          try {
            InputStream in = System.in;
            byte[] buf = new byte[256];
            while (in.read(buf) >= 0) {
              // discard
            }
          } catch (IOException e) {
            // treat as closed
          }
          events.add("stdin");
        }, "stdin-watch");
        t.setDaemon(true);
        t.start();
      }
      long holdDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(hold);
      String why;
      while (true) {
        String ev = events.poll(1, TimeUnit.SECONDS);
        if ("stdin".equals(ev)) {
          why = "stdin closed";
          break;
        }
        String bad = firstFailure();
        if (bad != null) {
          System.err.println("SocketLoad: " + bad);
          stopped("worker-died");
          return 1;
        }
        if (System.nanoTime() > holdDeadline) {
          why = "hold-seconds " + hold + " elapsed";
          break;
        }
      }
      log("stopping: " + why);
      stopWorkers();
      stopped(why.replace(' ', '-'));
      return 0;
    }

    static boolean stoppedSaid;

    /** Prints the STOPPED line once (after READY only). */
    static synchronized void stopped(String reason) {
      if (!stoppedSaid && readySaid) {
        stoppedSaid = true;
        System.out.println("STOPPED reason=" + reason);
        System.out.flush();
      }
    }

    static String firstFailure() {
      synchronized (workers) {
        for (WorkerProc w : workers) {
          if (w.error != null) {
            return "worker " + w.share.id() + " (pid " + w.process.pid() + ") failed: " + w.error;
          }
          if (!w.process.isAlive() && !stopping) {
            return "worker " + w.share.id() + " (pid " + w.process.pid() + ") exited with "
                + w.process.exitValue();
          }
        }
      }
      return null;
    }

    static void readWorker(WorkerProc w, LinkedBlockingQueue<String> events) {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(w.process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.startsWith("WORKER_READY")) {
            w.readyLine = line;
            log("worker " + w.share.id() + ": " + line.substring("WORKER_READY ".length()));
          } else if (line.startsWith("WORKER_ERROR")) {
            w.error = line.substring("WORKER_ERROR".length()).trim();
          } else if (line.startsWith("TIME_WAIT_RAMP_DONE")) {
            w.rampDone = true;
            log("worker " + w.share.id() + ": " + line);
          } else {
            log("worker " + w.share.id() + ": " + line);
          }
          events.add("worker");
        }
      } catch (IOException e) {
        // worker gone
      }
      events.add("worker-eof");
    }

    /** Closes every worker's stdin (they exit on EOF), then SIGTERM, then SIGKILL; bounded. */
    static void stopWorkers() {
      List<WorkerProc> ws;
      synchronized (workers) {
        if (stopping) {
          return;
        }
        stopping = true;
        ws = new ArrayList<>(workers);
      }
      for (WorkerProc w : ws) {
        try {
          w.process.getOutputStream().close();
        } catch (IOException e) {
          // already gone
        }
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      for (WorkerProc w : ws) {
        try {
          if (!w.process.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            w.process.destroy();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      for (WorkerProc w : ws) {
        try {
          if (!w.process.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            w.process.destroyForcibly();
            w.process.waitFor(2, TimeUnit.SECONDS);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (classDir != null) {
        try (var files = Files.list(classDir)) {
          for (Path f : files.toList()) {
            Files.deleteIfExists(f);
          }
          Files.deleteIfExists(classDir);
        } catch (IOException e) {
          // best effort
        }
      }
    }

    /**
     * Writes this program's classes to a temporary directory, so workers start from class files
     * instead of compiling the source again. Returns null when they cannot be found (then workers
     * are started from the source file).
     */
    static Path writeClasses() {
      try {
        Path dir = Files.createTempDirectory("socketload-");
        for (Class<?> c : SocketLoad.class.getNestMembers()) {
          String name = c.getName() + ".class";
          try (InputStream in = SocketLoad.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
              return null;
            }
            Files.write(dir.resolve(name), in.readAllBytes());
          }
        }
        return dir;
      } catch (IOException e) {
        return null;
      }
    }

    /** The SocketLoad.java this JVM was started with (the worker's cwd is ours). */
    static String sourceFile() {
      return ProcessHandle.current().info().arguments().stream().flatMap(Arrays::stream)
          .filter(a -> a.endsWith("SocketLoad.java")).findFirst()
          .orElseThrow(() -> new IllegalStateException("cannot find SocketLoad.java to start workers"));
    }

    static void usage() {
      System.err.println("usage: java SocketLoad.java [--established PAIRS] [--close-wait N]"
          + " [--time-wait N] [--listeners K]\n"
          + "         [--time-wait-mode once|steady] [--hold-seconds S (1800)]"
          + " [--base-port P (21000)] [--addresses A (4)]\n"
          + "         [--fds-per-worker F (18000)] [--ready-timeout S (120)] [--ignore-stdin]"
          + " [--java PATH]\n"
          + "Prints READY ... once the sockets are in place; stops on SIGTERM/SIGINT, stdin EOF,"
          + " or after --hold-seconds.");
    }
  }

  static String join(List<Endpoint> es) {
    return es.isEmpty() ? "-" : String.join(",", es.stream().map(Endpoint::toString).toList());
  }

  static String field(String line, String key) {
    if (line == null) {
      return null;
    }
    for (String part : line.split(" ")) {
      if (part.startsWith(key + "=")) {
        return part.substring(key.length() + 1);
      }
    }
    return null;
  }

  static long ms(long nanos) {
    return nanos / 1_000_000;
  }

  /**
   * Reads a small /proc file. Not Files.readString: it sizes its first read by st_size (0 here)
   * and reads 1 byte, and integer sysctls return EOF for any read at a non-zero offset, so
   * readString("/proc/sys/net/core/somaxconn") gives "4" on JDK 25.
   */
  static String readProc(String path) throws IOException {
    return String.join("\n", Files.readAllLines(Path.of(path))).trim();
  }

  static int[] ephemeralRange() {
    try {
      String[] p = readProc("/proc/sys/net/ipv4/ip_local_port_range")
          .split("\\s+");
      return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Connections made before they are accepted: half the effective listen backlog, at most 512. */
  static int batchSize() {
    int somaxconn = 128;
    try {
      somaxconn = Integer.parseInt(readProc("/proc/sys/net/core/somaxconn"));
    } catch (IOException | RuntimeException e) {
      // keep the old default
    }
    return Math.max(1, Math.min(512, somaxconn / 2));
  }

  /**
   * Counts TCP sockets on the given port range by state, with ss (or /proc/net/tcp{,6}).
   * TIME_WAIT sockets whose "local peer" key is in {@code oldTw} (left by an earlier run) are not
   * counted; when {@code collectTw} is given, the keys of all TIME_WAIT sockets are added to it.
   */
  static Map<String, Long> countStates(long lo, long hi, String filter, Set<String> oldTw,
      Set<String> collectTw) throws Exception {
    Map<String, Long> m = new TreeMap<>();
    Process p;
    try {
      p = new ProcessBuilder("ss", "-Htan", filter).redirectErrorStream(true).start();
    } catch (IOException e) {
      return countStatesProc(lo, hi, oldTw, collectTw);
    }
    p.getOutputStream().close();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
      String line;
      while ((line = r.readLine()) != null) {
        String[] c = line.trim().split("\\s+");
        if (c[0].equals("TIME-WAIT") && c.length >= 5) {
          String key = c[3] + " " + c[4];
          if (collectTw != null) {
            collectTw.add(key);
          }
          if (oldTw.contains(key)) {
            continue;
          }
        }
        m.merge(c[0], 1L, Long::sum);
      }
    }
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("ss did not finish in 60 s");
    }
    if (p.exitValue() != 0) {
      throw new IOException("ss failed: " + m);
    }
    return m;
  }

  static final String[] PROC_STATES = {"?", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1",
      "FIN-WAIT-2", "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
      "NEW-SYN-RECV"};

  static Map<String, Long> countStatesProc(long lo, long hi, Set<String> oldTw,
      Set<String> collectTw) throws IOException {
    Map<String, Long> m = new TreeMap<>();
    for (String f : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path path = Path.of(f);
      if (!Files.exists(path)) {
        continue;
      }
      try (var lines = Files.lines(path)) {
        lines.skip(1).forEach(l -> {
          String[] c = l.trim().split("\\s+");
          int lp = Integer.parseInt(c[1].substring(c[1].indexOf(':') + 1), 16);
          int rp = Integer.parseInt(c[2].substring(c[2].indexOf(':') + 1), 16);
          if ((lp >= lo && lp <= hi) || (rp >= lo && rp <= hi)) {
            int st = Integer.parseInt(c[3], 16);
            String name = st < PROC_STATES.length ? PROC_STATES[st] : "?";
            if (name.equals("TIME-WAIT")) {
              String key = c[1] + " " + c[2];
              if (collectTw != null) {
                collectTw.add(key);
              }
              if (oldTw.contains(key)) {
                return;
              }
            }
            m.merge(name, 1L, Long::sum);
          }
        });
      }
    }
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // Worker: makes its share of sockets through libc (FFM), holds them until stdin closes.
  // ---------------------------------------------------------------------------------------------

  static final class Worker {
    static final List<String> KNOWN = List.of("--id", "--established", "--close-wait",
        "--time-wait", "--time-wait-mode", "--batch", "--hold-seconds", "--listen",
        "--time-wait-listen");

    static void run(String[] args) {
      Map<String, String> o;
      try {
        o = parse(args, KNOWN, List.of());
      } catch (BadArgs e) {
        fail(e.getMessage());
        return;
      }
      // Exit when the coordinator goes away (our stdin is its pipe), whatever else happens.
      Thread watch = new Thread(() -> {
        try {
          while (System.in.read() >= 0) {
            // discard
          }
        } catch (IOException e) {
          // closed
        }
        System.exit(0);
      }, "stdin-watch");
      watch.setDaemon(true);
      watch.start();
      try {
        long hold = num(o, "--hold-seconds", 1920, 1, Long.MAX_VALUE / 2);
        Thread bound = new Thread(() -> {
          try {
            Thread.sleep(TimeUnit.SECONDS.toMillis(hold));
          } catch (InterruptedException e) {
            return;
          }
          System.err.println("worker: hold bound reached, exiting");
          System.exit(0);
        }, "hold-bound");
        bound.setDaemon(true);
        bound.start();
        work(o);
        // Hold until the coordinator closes our stdin (the watch thread exits the JVM).
        watch.join();
      } catch (Throwable t) {
        fail(t.toString());
      }
    }

    static void fail(String msg) {
      System.out.println("WORKER_ERROR " + msg.replace('\n', ' '));
      System.out.flush();
      System.exit(1);
    }

    static List<Endpoint> endpoints(String s) {
      if (s == null || s.equals("-") || s.isEmpty()) {
        return List.of();
      }
      return Arrays.stream(s.split(",")).map(Endpoint::parse).toList();
    }

    static void work(Map<String, String> o) throws Throwable {
      long t0 = System.nanoTime();
      int id = (int) num(o, "--id", 0, 0, 100_000);
      int pairs = (int) num(o, "--established", 0, 0, 10_000_000);
      int closeWait = (int) num(o, "--close-wait", 0, 0, 10_000_000);
      int timeWait = (int) num(o, "--time-wait", 0, 0, 10_000_000);
      int batch = (int) num(o, "--batch", 256, 1, 100_000);
      boolean steady = "steady".equals(o.get("--time-wait-mode"));
      List<Endpoint> ls = endpoints(o.get("--listen"));
      List<Endpoint> tws = endpoints(o.get("--time-wait-listen"));
      long needFds = 2L * pairs + closeWait + ls.size() + tws.size() + 2L * batch + 64;
      long soft = softNofile();
      if (soft >= 0 && soft < needFds) {
        throw new IllegalStateException("soft RLIMIT_NOFILE is " + soft + ", need " + needFds
            + " (the JVM raises soft to hard by default; was -XX:-MaxFDLimit given?)");
      }
      Net net = new Net();
      int[] listenFds = new int[ls.size()];
      MemorySegment[] addrs = new MemorySegment[ls.size()];
      for (int i = 0; i < ls.size(); i++) {
        addrs[i] = net.sockaddr(ls.get(i));
        listenFds[i] = net.listen(addrs[i], ls.get(i));
      }
      int[] twFds = new int[tws.size()];
      MemorySegment[] twAddrs = new MemorySegment[tws.size()];
      for (int i = 0; i < tws.size(); i++) {
        twAddrs[i] = net.sockaddr(tws.get(i));
        twFds[i] = net.listen(twAddrs[i], tws.get(i));
      }
      if ((pairs > 0 || closeWait > 0) && ls.isEmpty()) {
        throw new IllegalStateException("no listener to connect to");
      }
      if (timeWait > 0 && tws.isEmpty()) {
        throw new IllegalStateException("no TIME_WAIT listener");
      }

      // CLOSE_WAIT: the server side closes (its FIN_WAIT2 orphan is gone in ~1 s); the client stays.
      int[] held = new int[2 * pairs + closeWait];
      int nHeld = 0;
      int[] cli = new int[batch];
      int[] srv = new int[batch];
      int li = 0;
      for (int done = 0; done < closeWait; li = (li + 1) % ls.size()) {
        int n = Math.min(batch, closeWait - done);
        net.connectBatch(addrs[li], ls.get(li), cli, n);
        net.acceptBatch(listenFds[li], ls.get(li), srv, n);
        // Send the FIN with shutdown() and close only once it is ACKed: an ACK that arrives while
        // close() holds the socket sends the orphan down a path that resets the peer after
        // TCP_LINGER2 (seen: 3 in 15,000 CLOSE_WAIT sockets reset when closing right away).
        for (int i = 0; i < n; i++) {
          net.lingerReset(cli[i]);
          net.shortFinWait2(srv[i]);
          net.shutdownWrite(srv[i]);
          held[nHeld++] = cli[i];
        }
        net.awaitState(srv, n, Net.TCP_FIN_WAIT2, 5_000);
        for (int i = 0; i < n; i++) {
          net.close(srv[i]);
        }
        done += n;
      }
      // ESTABLISHED pairs: both ends held, both reset on exit (no TIME_WAIT when we stop).
      for (int done = 0; done < pairs; li = (li + 1) % ls.size()) {
        int n = Math.min(batch, pairs - done);
        net.connectBatch(addrs[li], ls.get(li), cli, n);
        net.acceptBatch(listenFds[li], ls.get(li), srv, n);
        for (int i = 0; i < n; i++) {
          net.lingerReset(cli[i]);
          net.lingerReset(srv[i]);
          held[nHeld++] = cli[i];
          held[nHeld++] = srv[i];
        }
        done += n;
      }
      long madeHeld = System.nanoTime();

      String twAt = "-";
      TimeWaitMaker tw = timeWait > 0 ? new TimeWaitMaker(net, twFds, twAddrs, tws, cli, srv) : null;
      if (tw != null && !steady) {
        twAt = Instant.now().toString();
        tw.make(timeWait);
      }
      long t1 = System.nanoTime();
      System.out.println("WORKER_READY id=" + id + " pid=" + ProcessHandle.current().pid()
          + " established=" + 2L * pairs + " close_wait=" + closeWait
          + " time_wait=" + (steady ? 0 : timeWait) + " listeners=" + (ls.size() + tws.size())
          + " held_fds=" + nHeld + " time_wait_at=" + twAt
          + " held_ms=" + ms(madeHeld - t0) + " ms=" + ms(t1 - t0));
      System.out.flush();
      if (tw != null && steady) {
        tw.steady(timeWait);
      }
    }

    static long softNofile() {
      try {
        for (String l : Files.readAllLines(Path.of("/proc/self/limits"))) {
          if (l.startsWith("Max open files")) {
            String v = l.substring("Max open files".length()).trim().split("\\s+")[0];
            return v.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(v);
          }
        }
      } catch (IOException | RuntimeException e) {
        // unknown
      }
      return -1;
    }
  }

  /** Makes TIME_WAIT sockets: the client closes first, then the server; the client keeps TW. */
  static final class TimeWaitMaker {
    final Net net;
    final int[] listenFds;
    final MemorySegment[] addrs;
    final List<Endpoint> eps;
    final int[] cli;
    final int[] srv;
    int next;

    TimeWaitMaker(Net net, int[] listenFds, MemorySegment[] addrs, List<Endpoint> eps, int[] cli,
        int[] srv) {
      this.net = net;
      this.listenFds = listenFds;
      this.addrs = addrs;
      this.eps = eps;
      this.cli = cli;
      this.srv = srv;
      this.sources = Arrays.stream(TIME_WAIT_SOURCES).map(ip -> net.sockaddr(new Endpoint(ip, 0)))
          .toArray(MemorySegment[]::new);
      int[] range = ephemeralRange();
      this.lowPort = range != null ? range[0] : 32768;
      this.portSpan = (range != null ? range[1] : 60999) - lowPort + 1;
      // Start somewhere else each run, so we rarely meet an earlier run's TIME_WAIT sockets.
      this.seq = java.util.concurrent.ThreadLocalRandom.current()
          .nextLong((long) portSpan * sources.length);
    }

    /** Binds the next source endpoint in our cycle (skipping ones in use); bounded. */
    void bindSource(int fd) throws Throwable {
      net.opt(fd, Net.SOL_SOCKET, Net.SO_REUSEADDR, net.one, "SO_REUSEADDR");
      for (int tries = 0; ; tries++) {
        long i = seq++;
        MemorySegment sa = sources[(int) ((i / portSpan) % sources.length)];
        int port = lowPort + (int) (i % portSpan);
        sa.set(ValueLayout.JAVA_BYTE, 2, (byte) (port >> 8));
        sa.set(ValueLayout.JAVA_BYTE, 3, (byte) port);
        int r = (int) net.bind.invokeExact(net.capture, fd, sa, 16);
        if (r == 0) {
          return;
        }
        int errno = net.errno();
        if (errno != Net.EADDRINUSE || tries >= 10_000) {
          throw new IOException("bind source port " + port + ": " + net.err(errno));
        }
      }
    }

    final MemorySegment[] sources;
    final int lowPort;
    final int portSpan;
    long seq;

    void make(long count) throws Throwable {
      for (long done = 0; done < count; ) {
        int n = (int) Math.min(cli.length, count - done);
        int li = next;
        next = (next + 1) % eps.size();
        net.connectBatch(addrs[li], eps.get(li), cli, n, this::bindSource);
        net.acceptBatch(listenFds[li], eps.get(li), srv, n);
        for (int i = 0; i < n; i++) {
          net.close(cli[i]);
        }
        for (int i = 0; i < n; i++) {
          net.close(srv[i]);
        }
        done += n;
      }
    }

    /**
     * Makes count/lifetime sockets per second, forever (until the JVM exits), so that about
     * {@code count} are alive once the first lifetime has passed; prints TIME_WAIT_RAMP_DONE then.
     */
    void steady(long count) throws Throwable {
      double perNano = count / (TIME_WAIT_LIFETIME_S * 1e9);
      long start = System.nanoTime();
      long made = 0;
      boolean announced = false;
      long rampNanos = (long) (TIME_WAIT_LIFETIME_S * 1e9);
      System.out.println("TIME_WAIT_STEADY start=" + Instant.now() + " rate_per_s="
          + String.format("%.1f", count / TIME_WAIT_LIFETIME_S));
      System.out.flush();
      while (true) {
        long now = System.nanoTime();
        long due = (long) ((now - start) * perNano);
        if (due > made) {
          make(due - made);
          made = due;
        }
        if (!announced && now - start >= rampNanos) {
          announced = true;
          System.out.println("TIME_WAIT_RAMP_DONE made=" + made);
          System.out.flush();
        }
        Thread.sleep(100);
      }
    }
  }

  /** The few libc socket calls we need, through the FFM API. */
  static final class Net {
    static final int AF_INET = 2;
    static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SO_REUSEADDR = 2;
    static final int SO_LINGER = 13;
    static final int SO_RCVTIMEO = 20;
    static final int SO_SNDTIMEO = 21;
    static final int IPPROTO_TCP = 6;
    static final int TCP_LINGER2 = 8;
    static final int TCP_INFO = 11;
    static final int TCP_FIN_WAIT2 = 5;
    static final int SHUT_WR = 1;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int EADDRINUSE = 98;
    static final int EADDRNOTAVAIL = 99;
    static final int EALREADY = 114;
    static final int EINPROGRESS = 115;
    static final int EISCONN = 106;

    final Linker linker = Linker.nativeLinker();
    final StructLayout captureLayout = Linker.Option.captureStateLayout();
    final VarHandle errnoHandle =
        captureLayout.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    final Arena arena = Arena.ofAuto();
    final MemorySegment capture = arena.allocate(captureLayout);
    final MethodHandle socket = fn("socket", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    final MethodHandle setsockopt = fn("setsockopt", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    final MethodHandle bind = fn("bind", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    final MethodHandle listen = fn("listen", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT);
    final MethodHandle connect = fn("connect", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    final MethodHandle accept4 = fn("accept4", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    final MethodHandle close = fn("close", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    final MethodHandle shutdown = fn("shutdown", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT);
    final MethodHandle getsockopt = fn("getsockopt", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS);
    final MethodHandle strerror = linker.downcallHandle(
        linker.defaultLookup().find("strerror").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    final MemorySegment one = arena.allocate(ValueLayout.JAVA_INT);
    final MemorySegment lingerZero = arena.allocate(8); // struct linger {int l_onoff, l_linger}
    final MemorySegment tenSeconds = arena.allocate(16); // struct timeval {long sec, usec}
    final MemorySegment tcpInfo = arena.allocate(256); // struct tcp_info; byte 0 is tcpi_state
    final MemorySegment tcpInfoLen = arena.allocate(ValueLayout.JAVA_INT);

    Net() {
      one.set(ValueLayout.JAVA_INT, 0, 1);
      lingerZero.set(ValueLayout.JAVA_INT, 0, 1);
      lingerZero.set(ValueLayout.JAVA_INT, 4, 0);
      tenSeconds.set(ValueLayout.JAVA_LONG, 0, 10);
      tenSeconds.set(ValueLayout.JAVA_LONG, 8, 0);
    }

    MethodHandle fn(String name, ValueLayout ret, ValueLayout... argLayouts) {
      return linker.downcallHandle(linker.defaultLookup().find(name).orElseThrow(),
          FunctionDescriptor.of(ret, argLayouts), Linker.Option.captureCallState("errno"));
    }

    int errno() {
      return (int) errnoHandle.get(capture, 0L);
    }

    String err(int errno) {
      try {
        MemorySegment s = (MemorySegment) strerror.invokeExact(errno);
        return s.reinterpret(256).getString(0) + " (errno " + errno + ")";
      } catch (Throwable t) {
        return "errno " + errno;
      }
    }

    MemorySegment sockaddr(Endpoint e) {
      MemorySegment sa = arena.allocate(16);
      sa.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET);
      sa.set(ValueLayout.JAVA_BYTE, 2, (byte) (e.port() >> 8));
      sa.set(ValueLayout.JAVA_BYTE, 3, (byte) e.port());
      String[] q = e.ip().split("\\.");
      for (int i = 0; i < 4; i++) {
        sa.set(ValueLayout.JAVA_BYTE, 4 + i, (byte) Integer.parseInt(q[i]));
      }
      return sa;
    }

    int newSocket() throws Throwable {
      int fd = (int) socket.invokeExact(capture, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        throw new IOException("socket: " + err(errno()));
      }
      return fd;
    }

    void opt(int fd, int level, int name, MemorySegment val, String what) throws Throwable {
      int r = (int) setsockopt.invokeExact(capture, fd, level, name, val, (int) val.byteSize());
      if (r < 0) {
        throw new IOException("setsockopt " + what + ": " + err(errno()));
      }
    }

    int listen(MemorySegment sa, Endpoint e) throws Throwable {
      int fd = newSocket();
      opt(fd, SOL_SOCKET, SO_REUSEADDR, one, "SO_REUSEADDR");
      opt(fd, SOL_SOCKET, SO_RCVTIMEO, tenSeconds, "SO_RCVTIMEO"); // bounds accept()
      int r = (int) bind.invokeExact(capture, fd, sa, 16);
      if (r < 0) {
        throw new IOException("bind " + e + ": " + err(errno()));
      }
      r = (int) listen.invokeExact(capture, fd, 65535); // the kernel caps it at somaxconn
      if (r < 0) {
        throw new IOException("listen " + e + ": " + err(errno()));
      }
      return fd;
    }

    /** Blocking connects (loopback completes the handshake at once); bounded by SO_SNDTIMEO. */
    void connectBatch(MemorySegment sa, Endpoint e, int[] out, int n) throws Throwable {
      connectBatch(sa, e, out, n, null);
    }

    interface Binder {
      void bind(int fd) throws Throwable;
    }

    void connectBatch(MemorySegment sa, Endpoint e, int[] out, int n, Binder binder)
        throws Throwable {
      for (int i = 0, busy = 0; i < n; i++) {
        int fd = newSocket();
        if (binder != null) {
          binder.bind(fd);
        }
        opt(fd, SOL_SOCKET, SO_SNDTIMEO, tenSeconds, "SO_SNDTIMEO");
        int r = (int) connect.invokeExact(capture, fd, sa, 16);
        for (int tries = 0; r < 0 && tries < 1000; tries++) {
          int errno = errno();
          if (errno == EISCONN) {
            r = 0;
          } else if (errno == EINTR || errno == EALREADY) {
            Thread.sleep(10);
            r = (int) connect.invokeExact(capture, fd, sa, 16);
          } else if (errno == EADDRNOTAVAIL && binder != null && busy++ < 10_000) {
            // Our chosen source endpoint is still in TIME_WAIT towards this peer: take the next.
            close(fd);
            fd = newSocket();
            binder.bind(fd);
            opt(fd, SOL_SOCKET, SO_SNDTIMEO, tenSeconds, "SO_SNDTIMEO");
            r = (int) connect.invokeExact(capture, fd, sa, 16);
          } else if (errno == EADDRNOTAVAIL) {
            throw new IOException("connect " + e + ": " + err(errno)
                + ": ephemeral ports exhausted for this endpoint (ip_local_port_range)");
          } else if (errno == EINPROGRESS) {
            throw new IOException("connect " + e + ": timed out after 10 s (listen queue full?)");
          } else {
            throw new IOException("connect " + e + ": " + err(errno));
          }
        }
        if (r < 0) {
          throw new IOException("connect " + e + ": did not complete");
        }
        out[i] = fd;
      }
    }

    /** Accepts n connections (bounded by the listener's SO_RCVTIMEO). */
    void acceptBatch(int lfd, Endpoint e, int[] out, int n) throws Throwable {
      for (int i = 0; i < n; i++) {
        int fd;
        do {
          fd = (int) accept4.invokeExact(capture, lfd, MemorySegment.NULL, MemorySegment.NULL,
              SOCK_CLOEXEC);
        } while (fd < 0 && errno() == EINTR);
        if (fd < 0) {
          int errno = errno();
          throw new IOException("accept " + e + ": " + (errno == EAGAIN
              ? "no connection within 10 s" : err(errno)));
        }
        out[i] = fd;
      }
    }

    /** SO_LINGER {1, 0}: close() resets instead of FIN, leaving no TIME_WAIT. */
    void lingerReset(int fd) throws Throwable {
      opt(fd, SOL_SOCKET, SO_LINGER, lingerZero, "SO_LINGER");
    }

    /**
     * TCP_LINGER2 = 1 s: once closed, this orphan stays in FIN_WAIT2 for a second, not for
     * tcp_fin_timeout, and then vanishes without a word to the peer. (-1 would drop it at once,
     * but the kernel then answers the peer's ACK with a RST, which ends the peer's CLOSE_WAIT.)
     */
    void shortFinWait2(int fd) throws Throwable {
      opt(fd, IPPROTO_TCP, TCP_LINGER2, one, "TCP_LINGER2");
    }

    void shutdownWrite(int fd) throws Throwable {
      int r = (int) shutdown.invokeExact(capture, fd, SHUT_WR);
      if (r < 0) {
        throw new IOException("shutdown: " + err(errno()));
      }
    }

    /** The kernel TCP state of a socket (TCP_INFO tcpi_state). */
    int state(int fd) throws Throwable {
      tcpInfoLen.set(ValueLayout.JAVA_INT, 0, (int) tcpInfo.byteSize());
      int r = (int) getsockopt.invokeExact(capture, fd, IPPROTO_TCP, TCP_INFO, tcpInfo, tcpInfoLen);
      if (r < 0) {
        throw new IOException("getsockopt TCP_INFO: " + err(errno()));
      }
      return tcpInfo.get(ValueLayout.JAVA_BYTE, 0);
    }

    /** Waits (bounded) until the first n sockets are in the given state. */
    void awaitState(int[] fds, int n, int want, long timeoutMillis) throws Throwable {
      long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
      for (int i = 0; i < n; i++) {
        int st;
        while ((st = state(fds[i])) != want) {
          if (System.nanoTime() > deadline) {
            throw new IOException("socket still in TCP state " + st + " (want " + want + ") after "
                + timeoutMillis + " ms");
          }
          Thread.sleep(1);
        }
      }
    }

    void close(int fd) throws Throwable {
      int r = (int) close.invokeExact(capture, fd);
      if (r < 0 && errno() != EINTR) {
        throw new IOException("close: " + err(errno()));
      }
    }
  }
}
