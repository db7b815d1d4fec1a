// SpoolBench: what each --spool-fsync policy costs an append to the agent's disk spool.
//
//   java -cp agent/target/handlewatch-agent.jar bench/SpoolBench.java \
//       [--dir DIR] [--appends 2000] [--report-bytes 3000] [--rounds 3]
//
// For each policy (always, interval, never) and each round, opens a fresh spool in DIR (default: a
// temp dir under /var/tmp, i.e. the root disk, where --state-dir usually lives) and appends
// --appends reports of about --report-bytes each, back to back, timing every append. With
// "interval" a thread syncs once a second, as `run` does. Prints per policy: median, p99 and worst
// append latency over all rounds, and appends/s; then how much of the agent's time that is at the
// default 10 s interval. The agent appends one report per interval, so the per-append latency is
// what matters, not the throughput.
import io.handlewatch.agent.spool.DiskSpool;
import io.handlewatch.agent.spool.FsyncPolicy;
import io.handlewatch.agent.spool.SpoolConfig;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Sysctl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

public class SpoolBench {
  public static void main(String[] args) throws Exception {
    Path base = Path.of("/var/tmp");
    int appends = 2000;
    int reportBytes = 3000;
    int rounds = 3;
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--dir" -> base = Path.of(args[i + 1]);
        case "--appends" -> appends = Integer.parseInt(args[i + 1]);
        case "--report-bytes" -> reportBytes = Integer.parseInt(args[i + 1]);
        case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    // The spool logs each open at INFO; only the table matters here.
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    Files.createDirectories(base);
    System.out.printf(
        Locale.ROOT,
        "spool dir on %s (%s); %d appends x %d rounds per policy; report of ~%d bytes%n%n",
        Files.getFileStore(base).name(),
        Files.getFileStore(base).type(),
        appends,
        rounds,
        reportBytes);
    System.out.println("| --spool-fsync | median µs | p99 µs | worst µs | appends/s | share of a 10 s interval |");
    System.out.println("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (FsyncPolicy policy : FsyncPolicy.values()) {
      long[] all = new long[appends * rounds];
      long wall = 0;
      for (int round = 0; round < rounds; round++) {
        Path dir = Files.createTempDirectory(base, "spool-bench-");
        var ticker = Executors.newSingleThreadScheduledExecutor();
        try (DiskSpool spool =
            DiskSpool.open(
                SpoolConfig.of(dir, 64L << 20, policy, 2000, 8L << 20))) {
          if (policy == FsyncPolicy.INTERVAL) {
            ticker.scheduleWithFixedDelay(spool::flush, 1, 1, TimeUnit.SECONDS);
          }
          long start = System.nanoTime();
          for (int i = 0; i < appends; i++) {
            HostReport r = report(round * (long) appends + i + 1, reportBytes);
            long t = System.nanoTime();
            spool.append(r);
            all[round * appends + i] = System.nanoTime() - t;
            if (i % 100 == 99) spool.ackUpTo(r.getSeq() - 50); // a collector acking behind
          }
          wall += System.nanoTime() - start;
        } finally {
          ticker.shutdownNow();
          try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
          }
        }
      }
      Arrays.sort(all);
      double median = all[all.length / 2] / 1e3;
      double p99 = all[(int) (all.length * 0.99)] / 1e3;
      double worst = all[all.length - 1] / 1e3;
      System.out.printf(
          Locale.ROOT,
          "| %s | %.0f | %.0f | %.0f | %.0f | %.4f %% |%n",
          policy.name().toLowerCase(Locale.ROOT),
          median,
          p99,
          worst,
          all.length / (wall / 1e9),
          median / 10e6 * 100);
    }
  }

  static HostReport report(long seq, int bytes) {
    HostSample.Builder s =
        HostSample.newBuilder().setHost(HostIdentity.newBuilder().setHostname("bench-host"));
    for (int i = 0; s.build().getSerializedSize() < bytes; i++) {
      s.addSysctls(Sysctl.newBuilder().setName("net.ipv4.bench_" + i).setValue(Long.toString(seq * 31 + i)));
    }
    return HostReport.newBuilder().setSeq(seq).setSample(s).build();
  }
}
