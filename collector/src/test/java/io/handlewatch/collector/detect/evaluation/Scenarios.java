package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.collector.detect.Kind;
import io.handlewatch.collector.detect.evaluation.Trace.Expect;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.LongFunction;

/**
 * The evaluation's scenario classes: each is a kind of host behaviour, drawn afresh from every seed
 * (rates, levels, noise, timings, pids), so that passing means the mechanism works, not that one
 * trace happens to. Leaks must page once, early, naming the process (and resolve when released);
 * the rest must never page. Every class runs on {@link #SEEDS} seeds in DetectionEvaluationTest.
 */
public final class Scenarios {
  private Scenarios() {}

  /** Seeds every class is run on. */
  public static final int SEEDS = 8;

  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");

  /** One class of scenario: a trace for every seed. */
  public record Scenario(String name, String description, LongFunction<Trace> trace) {}

  private static final List<Scenario> ALL = new ArrayList<>();

  private static void add(String name, String description, LongFunction<Trace> trace) {
    ALL.add(new Scenario(name, description, trace));
  }

  public static List<Scenario> all() {
    return List.copyOf(ALL);
  }

  public static Scenario named(String name) {
    for (Scenario s : ALL) if (s.name().equals(name)) return s;
    throw new IllegalArgumentException("no scenario " + name);
  }

  // ---------------------------------------------------------------- helpers

  private static double between(Random r, double lo, double hi) {
    return lo + r.nextDouble() * (hi - lo);
  }

  /** Uniform noise of ±a. */
  private static double noise(Random r, double a) {
    return (r.nextDouble() * 2 - 1) * a;
  }

  private static String host(String name, long seed) {
    return name.replace('/', '-') + "-" + seed;
  }

  /** A quiet prefix of 18 to 25 minutes: the window holds history from before the leak. */
  private static double quiet(Random p) {
    return between(p, 18, 25);
  }

  private static int pid(Random p) {
    return 1_000 + p.nextInt(60_000);
  }

  private static String endpoint(Random p) {
    return "10.0."
        + p.nextInt(200)
        + "."
        + (1 + p.nextInt(250))
        + ":"
        + (1_024 + p.nextInt(30_000));
  }

  /** The first minute at which {@code f} (without noise) reaches {@code limit}. */
  private static double crossing(
      java.util.function.DoubleUnaryOperator f, double from, double limit) {
    for (double m = from; m < from + 100_000; m += 1.0 / 60)
      if (f.applyAsDouble(m) >= limit) return m;
    return Double.NaN;
  }

  private static String fmt(String f, Object... a) {
    return String.format(Locale.ROOT, f, a);
  }

  /**
   * An fd leak from {@code start} at a rate reaching {@code limit} {@code exhaust} minutes later.
   */
  private static Trace fdLeak(
      String name,
      long seed,
      double exhaustLo,
      double exhaustHi,
      Duration within,
      String severity) {
    Random p = new Random(seed * 7919 + name.hashCode());
    long[] limits = {4_096, 8_192, 20_000, 65_536};
    long limit = limits[p.nextInt(limits.length)];
    double level = limit * between(p, 0.05, 0.25);
    double exhaust = between(p, exhaustLo, exhaustHi);
    double rate = (limit - level) / exhaust;
    double q = quiet(p);
    double amp = Math.max(2, level * between(p, 0.001, 0.01));
    int pid = pid(p);
    Curve fds = (m, r) -> level + Math.max(0, m - q) * rate + noise(r, amp);
    var g = new TraceGenerator(host(name, seed), T0, seed);
    g.add(
        new Process(
            pid,
            90_000,
            "java",
            limit,
            fds,
            TraceGenerator.jitter(2, 2),
            TraceGenerator.DATABASE,
            0,
            1e9));
    double minutes = q + Math.min(exhaust * 0.8, 150);
    return new Trace(
        name,
        fmt(
            "java leaks %.1f fds/min from %,.0f of %,d (exhausted %.0f min after it starts, ±%.0f)",
            rate, level, limit, exhaust, amp),
        g.generate(minutes),
        new Trace.Leak(Kind.PROCESS_FDS, "java[" + pid + "]", g.at(q), g.at(q + exhaust)),
        Expect.DEFAULT.pageWithin(within).severity(severity));
  }

  /** A process already running leaks CLOSE_WAIT sockets (each an fd) at {@code perMinute}. */
  private static Trace closeWaitLeak(
      String name, long seed, double lo, double hi, Duration within, long limitFds) {
    Random p = new Random(seed * 7919 + name.hashCode());
    double perMinute = between(p, lo, hi);
    double q = quiet(p);
    double base = p.nextInt(6);
    double level = limitFds * between(p, 0.02, 0.1);
    int pid = pid(p);
    String peer = p.nextBoolean() ? TraceGenerator.DATABASE : endpoint(p);
    Curve cw = (m, r) -> base + Math.max(0, m - q) * perMinute + r.nextInt(3) - 1;
    Curve fds = (m, r) -> level + Math.max(0, m - q) * perMinute + r.nextInt(21) - 10;
    var g = new TraceGenerator(host(name, seed), T0, seed);
    g.add(new Process(pid, 70_000, "api-gw", limitFds, fds, cw, peer, 0, 1e9));
    // Each leaked socket also holds a local port towards the peer: whichever runs out first.
    double ports = (28_232 - (peer.equals(TraceGenerator.DATABASE) ? 220 : 0) - base) / perMinute;
    double exhaust = Math.min((limitFds - level) / perMinute, ports);
    return new Trace(
        name,
        fmt(
            "api-gw (running for long) leaks %.1f CLOSE_WAIT/min towards %s (fds %,.0f of %,d)",
            perMinute, peer, level, limitFds),
        g.generate(q + 45),
        new Trace.Leak(Kind.CLOSE_WAIT, "api-gw[" + pid + "]", g.at(q), g.at(q + exhaust)),
        Expect.DEFAULT.pageWithin(within).severity("critical"));
  }

  // ---------------------------------------------------------------- leaks that must page

  static {
    add(
        "fd-leak-1h",
        "one process leaks fds, exhausting its soft limit in 50-70 min",
        s -> fdLeak("fd-leak-1h", s, 50, 70, Duration.ofMinutes(10), "warning"));
    add(
        "fd-leak-2h",
        "one process leaks fds, exhausting its soft limit in 100-140 min",
        s -> fdLeak("fd-leak-2h", s, 100, 140, Duration.ofMinutes(10), "warning"));
    add(
        "fd-leak-12h",
        "one process leaks fds, exhausting its soft limit in 10-14 h",
        s -> fdLeak("fd-leak-12h", s, 600, 840, Duration.ofMinutes(20), "warning"));

    add(
        "fd-leak-on-creeping-sawtooth",
        "an fd leak exhausting in 80-100 min starts on a baseline that creeps up between periodic"
            + " GC-like drops of about 5 %",
        s -> {
          String name = "fd-leak-on-creeping-sawtooth";
          Random p = new Random(s * 7919 + 17);
          long limit = p.nextBoolean() ? 65_536 : 32_768;
          double level = limit * between(p, 0.2, 0.35);
          double period = between(p, 4, 9);
          double drop = between(p, 0.04, 0.06);
          double phase = between(p, 0, period);
          double q = quiet(p);
          double exhaust = between(p, 80, 100);
          // The sawtooth's creep between drops: it climbs drop*level per period, then falls back.
          java.util.function.DoubleUnaryOperator baseline =
              m -> level * (1 + drop * (((m + phase) % period) / period));
          double rate = (limit - baseline.applyAsDouble(q)) / exhaust;
          java.util.function.DoubleUnaryOperator clean =
              m -> baseline.applyAsDouble(m) + Math.max(0, m - q) * rate;
          double amp = level * 0.002;
          int pid = pid(p);
          Curve fds = (m, r) -> clean.applyAsDouble(m) + noise(r, amp);
          var g = new TraceGenerator(host(name, s), T0, s);
          g.add(
              new Process(
                  pid, 90_000, "java", limit, fds, TraceGenerator.jitter(2, 2), null, 0, 1e9));
          double truth = crossing(clean, q, limit);
          return new Trace(
              name,
              fmt(
                  "java's fds creep %.0f -> %.0f and drop back every %.1f min; from minute %.0f a leak"
                      + " of %.0f fds/min reaches %,d at minute %.0f",
                  level, level * (1 + drop), period, q, rate, limit, truth),
              g.generate(q + Math.min(truth - q, 90) * 0.8),
              new Trace.Leak(Kind.PROCESS_FDS, "java[" + pid + "]", g.at(q), g.at(truth)),
              Expect.DEFAULT.pageWithin(Duration.ofMinutes(20)));
        });

    add(
        "cw-leak-1/2s",
        "a long-running process leaks one CLOSE_WAIT socket every 2 s (±20 %)",
        s -> closeWaitLeak("cw-leak-1/2s", s, 24, 36, Duration.ofMinutes(5), 65_536));
    add(
        "cw-leak-1/10s",
        "a long-running process leaks one CLOSE_WAIT socket every 10 s (±20 %)",
        s -> closeWaitLeak("cw-leak-1/10s", s, 4.8, 7.2, Duration.ofMinutes(12), 65_536));
    add(
        "cw-leak-1/s-low-limit",
        "one CLOSE_WAIT per second in a process with a 4,096-fd soft limit: critical, with an ETA",
        s -> closeWaitLeak("cw-leak-1/s-low-limit", s, 50, 70, Duration.ofMinutes(4), 4_096));

    add(
        "cw-leak-1/min",
        "a process with a 1,024-fd soft limit leaks one CLOSE_WAIT socket a minute: too slow to"
            + " page as growth, it pages as fd exhaustion within the day",
        s -> {
          String name = "cw-leak-1/min";
          Random p = new Random(s * 7919 + 23);
          double perMinute = between(p, 0.8, 1.2);
          double q = quiet(p);
          long limit = 1_024;
          double level = between(p, 150, 400);
          int pid = pid(p);
          Curve cw = (m, r) -> Math.floor(Math.max(0, m - q) * perMinute);
          Curve fds =
              (m, r) -> level + Math.floor(Math.max(0, m - q) * perMinute) + r.nextInt(3) - 1;
          var g = new TraceGenerator(host(name, s), T0, s);
          g.add(
              new Process(pid, 70_000, "worker", limit, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
          double exhaust = (limit - level) / perMinute;
          return new Trace(
              name,
              fmt(
                  "worker leaks %.2f CLOSE_WAIT/min; fds %.0f of %d, exhausted in %.1f h",
                  perMinute, level, limit, exhaust / 60),
              g.generate(q + 60),
              new Trace.Leak(Kind.PROCESS_FDS, "worker[" + pid + "]", g.at(q), g.at(q + exhaust)),
              // A few sockets a minute, counted in whole sockets: minutes of evidence give an ETA
              // of hours within a half, not a quarter (the table shows the figures).
              Expect.DEFAULT.pageWithin(Duration.ofMinutes(40)).etaWithin(0.5));
        });

    add(
        "cw-leak-new-process",
        "a process born during the window leaks one CLOSE_WAIT every 2 s from its first minute",
        s -> newProcessLeak("cw-leak-new-process", s, 24, 36, Duration.ofMinutes(5)));
    add(
        "cw-leak-new-process-1/10s",
        "a process born during the window leaks one CLOSE_WAIT every 10 s from its first minute",
        s -> newProcessLeak("cw-leak-new-process-1/10s", s, 4.8, 7.2, Duration.ofMinutes(12)));

    add(
        "cw-leak-restarted",
        "a worker leaks CLOSE_WAIT from its first minute after the collector starts, is restarted"
            + " mid-leak (new pid) and leaks again towards the same remote",
        s -> {
          String name = "cw-leak-restarted";
          Random p = new Random(s * 7919 + 29);
          double perMinute = between(p, 8, 40);
          double born = between(p, 0.5, 1.5);
          double restart = between(p, 22, 35);
          int pid1 = pid(p);
          int pid2 = pid1 + 1 + p.nextInt(500);
          String peer = endpoint(p);
          Curve cw1 = (m, r) -> Math.max(0, m - born - 0.2) * perMinute + r.nextInt(3) - 1;
          Curve fds1 = (m, r) -> 300 + Math.max(0, m - born - 0.2) * perMinute + r.nextInt(11) - 5;
          double born2 = restart + between(p, 0.05, 0.5);
          Curve cw2 = (m, r) -> Math.max(0, m - born2 - 0.2) * perMinute + r.nextInt(3) - 1;
          Curve fds2 = (m, r) -> 300 + Math.max(0, m - born2 - 0.2) * perMinute + r.nextInt(11) - 5;
          var g = new TraceGenerator(host(name, s), T0, s);
          g.add(new Process(pid1, 5_000, "gunicorn", 65_536, fds1, cw1, peer, born, restart));
          g.add(
              new Process(
                  pid2,
                  5_000 + (long) (restart * 6000),
                  "gunicorn",
                  65_536,
                  fds2,
                  cw2,
                  peer,
                  born2,
                  1e9));
          Duration first = Duration.ofSeconds((long) (60 * (50 / perMinute + 3)));
          return new Trace(
              name,
              fmt(
                  "gunicorn[%d], born at minute %.1f, leaks %.0f CLOSE_WAIT/min to %s; restarted at"
                      + " minute %.1f as gunicorn[%d], which leaks the same way",
                  pid1, born, perMinute, peer, restart, pid2),
              g.generate(restart + 25),
              new Trace.Leak(Kind.CLOSE_WAIT, "gunicorn[" + pid1 + "]", g.at(born), null),
              Expect.DEFAULT
                  .pageWithin(first)
                  .severity("critical")
                  .successor("gunicorn[" + pid2 + "]", g.at(born2), Duration.ofMinutes(6)));
        });

    add(
        "cw-leak-released",
        "a leak of about one CLOSE_WAIT every 2 s for 8-15 min, then the process closes them all",
        s -> {
          String name = "cw-leak-released";
          Random p = new Random(s * 7919 + 31);
          double perMinute = between(p, 20, 40);
          double q = quiet(p);
          double stop = q + between(p, 8, 15);
          int pid = pid(p);
          Curve cw =
              (m, r) -> (m >= q && m < stop ? (m - q) * perMinute : 0) + 2 + r.nextInt(3) - 1;
          Curve fds =
              (m, r) -> 900 + (m >= q && m < stop ? (m - q) * perMinute : 0) + r.nextInt(11) - 5;
          var g = new TraceGenerator(host(name, s), T0, s);
          g.add(new Process(pid, 70_000, "java", 65_536, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
          return new Trace(
              name,
              fmt(
                  "java leaks %.0f CLOSE_WAIT/min from minute %.1f to %.1f, then closes them",
                  perMinute, q, stop),
              g.generate(stop + 20),
              new Trace.Leak(Kind.CLOSE_WAIT, "java[" + pid + "]", g.at(q), null),
              Expect.DEFAULT
                  .pageWithin(Duration.ofMinutes(5))
                  .severity("critical")
                  .released(g.at(stop), Duration.ofMinutes(3)));
        });

    add(
        "cw-leak-process-exits",
        "a leaking process exits (crash or stop): its sockets go with it",
        s -> {
          String name = "cw-leak-process-exits";
          Random p = new Random(s * 7919 + 37);
          double perMinute = between(p, 20, 60);
          double q = quiet(p);
          double exit = q + between(p, 8, 15);
          int pid = pid(p);
          Curve cw = (m, r) -> Math.max(0, m - q) * perMinute + 1 + r.nextInt(3) - 1;
          Curve fds = (m, r) -> 700 + Math.max(0, m - q) * perMinute + r.nextInt(11) - 5;
          var g = new TraceGenerator(host(name, s), T0, s);
          g.add(new Process(pid, 70_000, "node", 65_536, fds, cw, endpoint(p), 0, exit));
          return new Trace(
              name,
              fmt(
                  "node leaks %.0f CLOSE_WAIT/min from minute %.1f and exits at minute %.1f",
                  perMinute, q, exit),
              g.generate(exit + 20),
              new Trace.Leak(Kind.CLOSE_WAIT, "node[" + pid + "]", g.at(q), null),
              Expect.DEFAULT
                  .pageWithin(Duration.ofMinutes(5))
                  .severity("critical")
                  .released(g.at(exit), Duration.ofMinutes(3)));
        });

    add(
        "cw-leak-held",
        "a leak grows for 8-15 min, then stops growing while its sockets stay held",
        s -> {
          String name = "cw-leak-held";
          Random p = new Random(s * 7919 + 41);
          double perMinute = between(p, 20, 40);
          double q = quiet(p);
          double stop = q + between(p, 8, 15);
          int pid = pid(p);
          Curve cw =
              (m, r) -> (Math.min(stop, Math.max(q, m)) - q) * perMinute + 2 + r.nextInt(3) - 1;
          Curve fds =
              (m, r) -> 900 + (Math.min(stop, Math.max(q, m)) - q) * perMinute + r.nextInt(11) - 5;
          var g = new TraceGenerator(host(name, s), T0, s);
          g.add(new Process(pid, 70_000, "java", 65_536, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
          return new Trace(
              name,
              fmt(
                  "java leaks %.0f CLOSE_WAIT/min from minute %.1f to %.1f, then holds them",
                  perMinute, q, stop),
              g.generate(stop + 45),
              new Trace.Leak(Kind.CLOSE_WAIT, "java[" + pid + "]", g.at(q), null),
              Expect.DEFAULT.pageWithin(Duration.ofMinutes(5)).severity("critical").holding());
        });

    add(
        "cw-leak-unreadable",
        "a process the agent cannot read leaks one CLOSE_WAIT every 2 s: only the host's count and"
            + " its unattributed sockets show it",
        s -> {
          String name = "cw-leak-unreadable";
          Random p = new Random(s * 7919 + 43);
          double perMinute = between(p, 24, 36);
          double q = quiet(p);
          Curve cw = (m, r) -> Math.max(0, m - q) * perMinute + r.nextInt(3);
          Curve fds = (m, r) -> 400 + Math.max(0, m - q) * perMinute;
          var g = new TraceGenerator(host(name, s), T0, s);
          g.add(
              new Process(
                  pid(p),
                  70_000,
                  "secret",
                  65_536,
                  fds,
                  cw,
                  TraceGenerator.DATABASE,
                  0,
                  1e9,
                  true));
          return new Trace(
              name,
              fmt("an unreadable process leaks %.0f CLOSE_WAIT/min from minute %.1f", perMinute, q),
              g.generate(q + 30),
              new Trace.Leak(Kind.CLOSE_WAIT, host(name, s), g.at(q), null),
              Expect.DEFAULT.pageWithin(Duration.ofMinutes(5)).severity("critical"));
        });

    add(
        "cw-leak-busy-host",
        "one CLOSE_WAIT every 10 s in one process of a busy host whose other processes hold a"
            + " noisy few dozen CLOSE_WAIT each and whose short-lived workers come and go",
        s -> {
          String name = "cw-leak-busy-host";
          Random p = new Random(s * 7919 + 47);
          double perMinute = between(p, 5, 8);
          double q = quiet(p);
          int pid = pid(p);
          var g = new TraceGenerator(host(name, s), T0, s);
          for (int i = 0; i < 4; i++) {
            double lvl = between(p, 10, 60);
            g.add(
                new Process(
                    pid + 10 + i,
                    60_000 + i,
                    "envoy",
                    65_536,
                    TraceGenerator.jitter(2_000, 40),
                    TraceGenerator.jitter(lvl, lvl / 3),
                    endpoint(p),
                    0,
                    1e9));
          }
          addShortLivedWorkers(g, p, 0, q + 40);
          Curve cw = (m, r) -> Math.max(0, m - q) * perMinute + r.nextInt(3);
          Curve fds = (m, r) -> 1_200 + Math.max(0, m - q) * perMinute + r.nextInt(11) - 5;
          g.add(
              new Process(
                  pid, 70_000, "billing", 65_536, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
          return new Trace(
              name,
              fmt(
                  "billing leaks %.1f CLOSE_WAIT/min from minute %.1f on a busy host",
                  perMinute, q),
              g.generate(q + 40),
              new Trace.Leak(Kind.CLOSE_WAIT, "billing[" + pid + "]", g.at(q), null),
              Expect.DEFAULT.pageWithin(Duration.ofMinutes(14)).severity("critical"));
        });
  }

  private static Trace newProcessLeak(
      String name, long seed, double lo, double hi, Duration within) {
    Random p = new Random(seed * 7919 + name.hashCode());
    double perMinute = between(p, lo, hi);
    double born = quiet(p);
    int pid = pid(p);
    String peer = endpoint(p);
    Curve cw = (m, r) -> Math.max(0, m - born - 0.3) * perMinute + r.nextInt(2);
    Curve fds = (m, r) -> 40 + Math.max(0, m - born - 0.3) * perMinute + r.nextInt(5);
    var g = new TraceGenerator(host(name, seed), T0, seed);
    g.add(new Process(pid, 900_000, "python3", 1_048_576, fds, cw, peer, born, 1e9));
    return new Trace(
        name,
        fmt(
            "python3[%d] is born at minute %.1f and leaks %.1f CLOSE_WAIT/min to %s",
            pid, born, perMinute, peer),
        g.generate(born + 30),
        new Trace.Leak(Kind.CLOSE_WAIT, "python3[" + pid + "]", g.at(born), null),
        Expect.DEFAULT.pageWithin(within).severity("critical"));
  }

  /** Workers living 1-5 minutes, each holding up to 30 CLOSE_WAIT sockets, one after another. */
  private static void addShortLivedWorkers(TraceGenerator g, Random p, double from, double to) {
    int pid = 40_000 + p.nextInt(1_000);
    for (double m = from; m < to; ) {
      double life = between(p, 1, 5);
      double cwLevel = p.nextInt(31);
      double start = m;
      g.add(
          new Process(
              pid,
              (long) (m * 6000) + 7,
              "php-fpm",
              1_024,
              TraceGenerator.jitter(60, 5),
              (mm, r) -> Math.min(cwLevel, (mm - start) * 20),
              endpoint(p),
              m,
              m + life));
      pid += 1 + p.nextInt(20);
      m += between(p, 0.2, 1.5);
    }
  }

  // ---------------------------------------------------------------- hosts that must not page

  static {
    add(
        "step",
        "a pool grows once (fds x2-x4, CLOSE_WAIT to a few hundred) and stays",
        s -> {
          Random p = new Random(s * 7919 + 53);
          double q = quiet(p);
          double f0 = between(p, 1_000, 4_000);
          double f1 = f0 * between(p, 2, 4);
          double c1 = between(p, 100, 600);
          Curve fds = (m, r) -> (m < q ? f0 : f1) + r.nextInt(41) - 20;
          Curve cw = (m, r) -> (m < q ? 2 : c1) + r.nextInt(5) - 2;
          var g = new TraceGenerator(host("step", s), T0, s);
          g.add(
              new Process(
                  pid(p), 50_000, "java", 65_536, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
          return new Trace(
              "step",
              fmt("at minute %.0f fds %.0f -> %.0f, CLOSE_WAIT 2 -> %.0f", q, f0, f1, c1),
              g.generate(q + 90),
              null);
        });

    add(
        "sawtooth",
        "a pool leaks and releases every 6-12 min (fds and CLOSE_WAIT ramp, then drop)",
        s -> {
          Random p = new Random(s * 7919 + 59);
          double period = between(p, 6, 12);
          double cwRise = between(p, 150, 500);
          double fdRise = cwRise * between(p, 2, 6);
          Curve fds = (m, r) -> 3_000 + (m % period) / period * fdRise + r.nextInt(21) - 10;
          Curve cw = (m, r) -> 2 + (m % period) / period * cwRise + r.nextInt(3) - 1;
          var g = new TraceGenerator(host("sawtooth", s), T0, s);
          g.add(
              new Process(
                  pid(p), 51_000, "java", 16_384, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
          return new Trace(
              "sawtooth",
              fmt("every %.1f min CLOSE_WAIT ramps 2 -> %.0f and drops back", period, cwRise),
              g.generate(150),
              null);
        });

    add(
        "diurnal",
        "24 h of load following the day: fds 2,000-14,000 of 65,536, CLOSE_WAIT 10-70",
        s -> {
          Random p = new Random(s * 7919 + 61);
          double phase = between(p, 0, 1440);
          Curve fds =
              (m, r) ->
                  8_000 + 6_000 * Math.sin(2 * Math.PI * (m + phase) / 1440) + r.nextInt(81) - 40;
          Curve cw =
              (m, r) -> 40 + 30 * Math.sin(2 * Math.PI * (m + phase) / 1440) + r.nextInt(11) - 5;
          var g = new TraceGenerator(host("diurnal", s), T0, s);
          g.add(
              new Process(
                  pid(p), 52_000, "envoy", 65_536, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
          return new Trace("diurnal", "a daily swing", g.generate(1440), null);
        });

    add(
        "noisy-spikes",
        "fds 3,000 ± 400 and CLOSE_WAIT 20 ± 15 with one-sample bursts every 10-15 min",
        s -> {
          Random p = new Random(s * 7919 + 67);
          int every = 60 + p.nextInt(31);
          Curve fds =
              (m, r) -> 3_000 + r.nextInt(801) - 400 + (((int) (m * 6)) % every == 0 ? 2_500 : 0);
          Curve cw = (m, r) -> 20 + r.nextInt(31) - 15 + (((int) (m * 6)) % every == 0 ? 300 : 0);
          var g = new TraceGenerator(host("noisy-spikes", s), T0, s);
          g.add(
              new Process(
                  pid(p), 53_000, "java", 16_384, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
          return new Trace("noisy-spikes", "noise with bursts", g.generate(150), null);
        });

    add(
        "stable-high-close-wait",
        "a process holds thousands of CLOSE_WAIT sockets that never grow",
        s -> {
          Random p = new Random(s * 7919 + 71);
          double level = between(p, 1_000, 8_000);
          var g = new TraceGenerator(host("stable-high-close-wait", s), T0, s);
          g.add(
              new Process(
                  pid(p),
                  54_000,
                  "java",
                  65_536,
                  TraceGenerator.jitter(level + 1_200, 12),
                  TraceGenerator.jitter(level, 8),
                  TraceGenerator.DATABASE,
                  0,
                  1e9));
          return new Trace(
              "stable-high-close-wait", fmt("%.0f CLOSE_WAIT, flat", level), g.generate(120), null);
        });

    add(
        "restart-pool-warmup",
        "a process restarts: its successor fills its pool within 1-3 min",
        s -> {
          Random p = new Random(s * 7919 + 73);
          double at = between(p, 30, 60);
          double size = between(p, 1_000, 8_000);
          // A pool fills with established connections; a few go CLOSE_WAIT as the server closes
          // them.
          double cwSize = between(p, 0, 20);
          double fill = between(p, 1, 3);
          int pid = pid(p);
          var g = new TraceGenerator(host("restart-pool-warmup", s), T0, s);
          g.add(
              new Process(
                  pid,
                  55_000,
                  "java",
                  65_536,
                  TraceGenerator.jitter(size, 20),
                  TraceGenerator.jitter(cwSize, 3),
                  TraceGenerator.DATABASE,
                  0,
                  at));
          Curve warm = (m, r) -> Math.min(size, (m - at - 0.2) / fill * size) + r.nextInt(41) - 20;
          Curve cwWarm =
              (m, r) ->
                  Math.min(cwSize, Math.max(0, m - at - 0.2) / fill * cwSize) + r.nextInt(3) - 1;
          g.add(
              new Process(
                  pid + 7,
                  55_000 + (long) (at * 6000),
                  "java",
                  65_536,
                  warm,
                  cwWarm,
                  TraceGenerator.DATABASE,
                  at + 0.2,
                  1e9));
          return new Trace(
              "restart-pool-warmup",
              fmt(
                  "restart at %.0f, pool of %.0f fds (%.0f CLOSE_WAIT) refilled in %.1f min",
                  at, size, cwSize, fill),
              g.generate(at + 45),
              null);
        });

    add(
        "deploy-burst",
        "twice an hour a deploy bursts a few hundred CLOSE_WAIT within a minute, drained within"
            + " three",
        s -> {
          Random p = new Random(s * 7919 + 79);
          var g = new TraceGenerator(host("deploy-burst", s), T0, s);
          int variant = (int) (s % 3);
          double first = between(p, 5, 25);
          double[] bursts = {first, first + 30, first + 60, first + 90};
          double size = between(p, 200, 600);
          double rise = between(p, 0.3, 1.0);
          double drain = between(p, 1.5, 3.0 - rise + 1.0);
          Curve shape =
              (m, r) -> {
                double v = 0;
                for (double b : bursts) {
                  double x = m - b;
                  if (x < 0 || x > rise + drain) continue;
                  v += x < rise ? size * x / rise : size * (1 - (x - rise) / drain);
                }
                return Math.max(0, v);
              };
          int pid = pid(p);
          if (variant == 0) {
            // One process takes the burst.
            g.add(
                new Process(
                    pid,
                    56_000,
                    "haproxy",
                    65_536,
                    (m, r) -> 2_000 + shape.at(m, r) + r.nextInt(21) - 10,
                    (m, r) -> 3 + shape.at(m, r) + r.nextInt(5) - 2,
                    TraceGenerator.DATABASE,
                    0,
                    1e9));
          } else if (variant == 1) {
            // Spread over four workers.
            for (int i = 0; i < 4; i++) {
              double share = 0.1 + 0.2 * i;
              g.add(
                  new Process(
                      pid + i,
                      56_000 + i,
                      "unicorn",
                      65_536,
                      (m, r) -> 500 + share * shape.at(m, r) + r.nextInt(11) - 5,
                      (m, r) -> 1 + share * shape.at(m, r) + r.nextInt(3) - 1,
                      TraceGenerator.DATABASE,
                      0,
                      1e9));
            }
          } else {
            // New pods' processes each come up holding their share, then drain.
            int next = pid;
            for (double b : bursts) {
              for (int i = 0; i < 3; i++) {
                double start = b + i * rise / 3;
                g.add(
                    new Process(
                        next++,
                        (long) (start * 6000) + 11,
                        "app",
                        65_536,
                        (m, r) -> 300 + shape.at(m, r) / 3 + r.nextInt(11) - 5,
                        (m, r) -> Math.max(0, shape.at(m, r) / 3 + r.nextInt(3) - 1),
                        endpoint(p),
                        start,
                        b + rise + drain + 0.5));
              }
            }
            g.add(
                new Process(
                    pid + 5_000,
                    56_000,
                    "app",
                    65_536,
                    TraceGenerator.jitter(300, 5),
                    TraceGenerator.jitter(1, 1),
                    null,
                    0,
                    1e9));
          }
          return new Trace(
              "deploy-burst",
              fmt(
                  "bursts of %.0f CLOSE_WAIT up in %.1f min, drained in %.1f (variant %d)",
                  size, rise, drain, variant),
              g.generate(first + 100),
              null);
        });

    add(
        "flat-noisy-72pct",
        "a busy, flat JVM at about 72 % of its fd limit with ±5 % noise of several kinds",
        s -> {
          Random p = new Random(s * 7919 + 83);
          long limit = p.nextBoolean() ? 65_536 : 16_384;
          double level = limit * 0.72;
          double amp = limit * 0.05;
          int model = (int) (s % 4);
          double[] state = {0};
          Curve fds =
              switch (model) {
                case 0 -> (m, r) -> level + noise(r, amp); // independent, uniform
                case 1 -> (m, r) -> level + r.nextGaussian() * amp / 2; // independent, normal
                case 2 ->
                    (m, r) -> { // correlated from one sample to the next (AR(1))
                      state[0] = 0.9 * state[0] + noise(r, amp * 0.45);
                      return level + Math.max(-amp, Math.min(amp, state[0] * 2));
                    };
                default ->
                    (m, r) -> { // a slow wander of ±2 % plus fast noise of ±3 %
                      state[0] = 0.98 * state[0] + noise(r, amp * 0.08);
                      return level
                          + Math.max(-0.4 * amp, Math.min(0.4 * amp, state[0]))
                          + noise(r, 0.6 * amp);
                    };
              };
          var g = new TraceGenerator(host("flat-noisy-72pct", s), T0, s);
          g.add(
              new Process(
                  pid(p),
                  57_000,
                  "java",
                  limit,
                  fds,
                  TraceGenerator.jitter(5, 3),
                  TraceGenerator.DATABASE,
                  0,
                  1e9));
          return new Trace(
              "flat-noisy-72pct",
              fmt("java at 72 %% of %,d ± 5 %% (noise model %d)", limit, model),
              g.generate(240),
              null);
        });

    add(
        "short-lived-workers",
        "workers living 1-5 min, each holding up to 30 CLOSE_WAIT, replaced all the time",
        s -> {
          Random p = new Random(s * 7919 + 89);
          var g = new TraceGenerator(host("short-lived-workers", s), T0, s);
          addShortLivedWorkers(g, p, 0, 120);
          return new Trace(
              "short-lived-workers", "php-fpm workers come and go", g.generate(120), null);
        });

    add(
        "slow-creep-far",
        "fds creep so slowly the limit is days away: no page",
        s -> {
          Random p = new Random(s * 7919 + 97);
          long limit = 65_536;
          double level = between(p, 2_000, 10_000);
          double days = between(p, 3, 10);
          double rate = (limit - level) / (days * 1440);
          var g = new TraceGenerator(host("slow-creep-far", s), T0, s);
          g.add(
              new Process(
                  pid(p),
                  58_000,
                  "java",
                  limit,
                  (m, r) -> level + m * rate + noise(r, 10),
                  TraceGenerator.jitter(3, 2),
                  TraceGenerator.DATABASE,
                  0,
                  1e9));
          return new Trace(
              "slow-creep-far",
              fmt("fds creep %.1f/min from %.0f: %.1f days to the limit", rate, level, days),
              g.generate(180),
              null);
        });
  }

  // ---------------------------------------------------------------- the kernel tables

  /** A kernel table a class drives: its limit (drawn) and how its curve is laid on a trace. */
  private enum Table {
    CONNTRACK(Kind.CONNTRACK, "conntrack entries", new long[] {65_536, 131_072, 262_144, 524_288}),
    ORPHANS(Kind.ORPHANS, "orphans", new long[] {4_096, 16_384, 65_536, 131_072}),
    TCP_MEMORY(Kind.TCP_MEMORY, "TCP memory pages", new long[] {94_000, 188_000, 376_000, 752_000});

    final Kind kind;
    final String what;
    final long[] limits;

    Table(Kind kind, String what, long[] limits) {
      this.kind = kind;
      this.what = what;
      this.limits = limits;
    }

    /** Draws the limit and sets it on {@code t}; returns it (tcp_mem: its max). */
    long limit(Random p, TableTrace t) {
      long limit = limits[p.nextInt(limits.length)];
      switch (this) {
        case CONNTRACK -> t.conntrackMax = limit;
        case ORPHANS -> t.maxOrphans = limit;
        case TCP_MEMORY -> t.tcpMem = (limit / 2) + " " + (limit * 2 / 3) + " " + limit;
      }
      return limit;
    }

    /**
     * Where a quiet level must stay below: tcp_mem's pressure (a warning there), else the limit.
     */
    double ceiling(long limit) {
      return this == TCP_MEMORY ? limit * 2 / 3 : limit;
    }

    void curve(TableTrace t, Curve c) {
      switch (this) {
        case CONNTRACK -> t.conntrack = c;
        case ORPHANS -> t.orphans = c;
        case TCP_MEMORY -> t.memPages = c;
      }
    }
  }

  /** The table grows from a quiet level to its limit in 60-120 min: a page with an ETA. */
  private static Trace tableGrowth(String name, long seed, Table table) {
    Random p = new Random(seed * 7919 + name.hashCode());
    TableTrace tt = new TableTrace();
    long limit = table.limit(p, tt);
    double level = table.ceiling(limit) * between(p, 0.05, 0.4);
    double exhaust = between(p, 60, 120);
    double rate = (limit - level) / exhaust;
    double q = quiet(p);
    double amp = Math.max(3, level * between(p, 0.002, 0.01));
    table.curve(tt, (m, r) -> level + Math.max(0, m - q) * rate + noise(r, amp));
    var g = new TraceGenerator(host(name, seed), T0, seed);
    String host = host(name, seed);
    return new Trace(
        name,
        fmt(
            "%s grow %.0f/min from %,.0f of %,d (exhausted %.0f min after it starts)",
            table.what, rate, level, limit, exhaust),
        tt.apply(g.generate(q + exhaust * 0.8), T0, seed),
        new Trace.Leak(table.kind, host, g.at(q), g.at(q + exhaust)),
        Expect.DEFAULT.pageWithin(Duration.ofMinutes(15)));
  }

  /** The table stays flat at 78-88 % of its limit (tcp_mem: of pressure), ±1 %: no page. */
  private static Trace tableFlat(String name, long seed, Table table) {
    Random p = new Random(seed * 7919 + name.hashCode());
    TableTrace tt = new TableTrace();
    long limit = table.limit(p, tt);
    double level = table.ceiling(limit) * between(p, 0.78, 0.88);
    double amp = level * 0.01;
    table.curve(tt, (m, r) -> level + noise(r, amp));
    var g = new TraceGenerator(host(name, seed), T0, seed);
    return new Trace(
        name,
        fmt("%s flat at %,.0f of %,d, ±1 %%", table.what, level, limit),
        tt.apply(g.generate(120), T0, seed),
        null);
  }

  /**
   * Bursts to 60-80 % of the limit (tcp_mem: of pressure) every 6-15 min, lasting 1-3 min, that
   * drain back to a base of 10-30 % within 1-2 min: no page.
   */
  private static Trace tableBursts(String name, long seed, Table table) {
    Random p = new Random(seed * 7919 + name.hashCode());
    TableTrace tt = new TableTrace();
    long limit = table.limit(p, tt);
    double ceiling = table.ceiling(limit);
    double base = ceiling * between(p, 0.1, 0.3);
    double peak = ceiling * between(p, 0.6, 0.8);
    double period = between(p, 6, 15);
    double hold = between(p, 1, 3);
    double drain = between(p, 1, 2);
    double phase = between(p, 0, period);
    double amp = base * 0.01;
    table.curve(
        tt,
        (m, r) -> {
          double x = (m + phase) % period;
          double level =
              x < hold ? peak : x < hold + drain ? peak - (peak - base) * (x - hold) / drain : base;
          return level + noise(r, amp);
        });
    var g = new TraceGenerator(host(name, seed), T0, seed);
    return new Trace(
        name,
        fmt(
            "%s burst from %,.0f to %,.0f of %,d every %.0f min for %.1f min, drained in %.1f",
            table.what, base, peak, limit, period, hold, drain),
        tt.apply(g.generate(120), T0, seed),
        null);
  }

  static {
    for (Table t : Table.values()) {
      String n = t.kind.tag().replace('_', '-');
      add(
          n + "-growth",
          t.what + " grow to the limit in 60-120 min after a quiet start",
          s -> tableGrowth(n + "-growth", s, t));
      add(
          n + "-flat-near-limit",
          t.what + " flat at 78-88 % of the limit (tcp_mem: of its pressure threshold)",
          s -> tableFlat(n + "-flat-near-limit", s, t));
      add(
          n + "-bursts-drain",
          t.what + " burst to 60-80 % of the limit and drain back, every 6-15 min",
          s -> tableBursts(n + "-bursts-drain", s, t));
    }

    add(
        "accept-queue-saturated",
        "nginx stops accepting for 5-15 min: its queue stays full and connections overflow",
        s -> {
          String name = "accept-queue-saturated";
          Random p = new Random(s * 7919 + 101);
          long[] backlogs = {128, 511, 4096};
          long backlog = backlogs[p.nextInt(backlogs.length)];
          double q = quiet(p);
          double stuck = between(p, 5, 15);
          double perMin = between(p, 50, 2_000);
          int pid = pid(p);
          TableTrace tt = new TableTrace();
          tt.listen(
              new TableTrace.Listen(
                  "0.0.0.0:443",
                  pid,
                  "nginx",
                  backlog,
                  (m, r) -> m >= q && m < q + stuck ? backlog : r.nextInt(4),
                  perMin));
          var g = new TraceGenerator(host(name, s), T0, s);
          return new Trace(
              name,
              fmt(
                  "nginx[%d] :443 backlog %d full for %.1f min, %.0f overflows/min",
                  pid, backlog, stuck, perMin),
              tt.apply(g.generate(q + stuck + 15), T0, s),
              new Trace.Leak(Kind.ACCEPT_QUEUE, "nginx[" + pid + "]", g.at(q), null),
              Expect.DEFAULT
                  .pageWithin(Duration.ofMinutes(2))
                  .severity("critical")
                  .released(g.at(q + stuck), Duration.ofMinutes(6)));
        });
    add(
        "accept-queue-bursts-drain",
        "a queue full for one or two samples every 4-8 min, drained at once: no page",
        s -> {
          String name = "accept-queue-bursts-drain";
          Random p = new Random(s * 7919 + 103);
          long backlog = 128;
          double period = between(p, 4, 8);
          double phase = between(p, 0, period);
          double width = p.nextBoolean() ? 0.1 : 0.25; // one or two samples of 10 s
          TableTrace tt = new TableTrace();
          tt.listen(
              new TableTrace.Listen(
                  "0.0.0.0:8080",
                  pid(p),
                  "java",
                  backlog,
                  (m, r) -> (m + phase) % period < width ? backlog : r.nextInt(20),
                  300));
          var g = new TraceGenerator(host(name, s), T0, s);
          return new Trace(
              name,
              fmt("java :8080 full for %.0f s every %.1f min", width * 60, period),
              tt.apply(g.generate(90), T0, s),
              null);
        });
    add(
        "syn-queue-growth",
        "a listener's SYN_RECV requests grow to its SYN queue's cap in 3-15 min (final ACKs lost"
            + " more and more, or a swelling SYN flood) and stay 5-15 min: one page",
        s -> {
          String name = "syn-queue-growth";
          Random p = new Random(s * 7919 + 109);
          long[] backlogs = {128, 511, 4096};
          long backlog = backlogs[p.nextInt(backlogs.length)];
          boolean cookiesOff = p.nextBoolean();
          double q = quiet(p);
          double ramp = between(p, 3, 15);
          double hold = between(p, 5, 15);
          double perMin = between(p, 100, 3_000);
          int pid = pid(p);
          TableTrace tt = new TableTrace();
          tt.syncookies = cookiesOff ? "0" : "1";
          tt.synRefusedPerMin = perMin;
          long cap =
              cookiesOff
                  ? Math.min(backlog, tt.maxSynBacklog - (tt.maxSynBacklog >> 2) + 1)
                  : backlog;
          tt.listen(
              new TableTrace.Listen(
                  "0.0.0.0:443", pid, "nginx", backlog, (m, r) -> r.nextInt(3), 0));
          tt.syn(
              "0.0.0.0:443",
              (m, r) -> {
                if (m < q || m >= q + ramp + hold) return r.nextInt(4);
                if (m >= q + ramp) return 2 * cap; // the kernel caps it
                return Math.min(cap - 1, cap * (m - q) / ramp + noise(r, cap * 0.02));
              });
          var g = new TraceGenerator(host(name, s), T0, s);
          return new Trace(
              name,
              fmt(
                  "nginx[%d] :443 SYN queue to its cap %d in %.1f min, held %.1f min, syncookies %s,"
                      + " %.0f refused/min",
                  pid, cap, ramp, hold, cookiesOff ? "off" : "on", perMin),
              tt.apply(g.generate(q + ramp + hold + 15), T0, s),
              new Trace.Leak(Kind.SYN_QUEUE, "nginx[" + pid + "]", g.at(q + ramp), null),
              Expect.DEFAULT
                  .pageWithin(Duration.ofMinutes(2))
                  .severity(cookiesOff ? "critical" : "warning")
                  .released(g.at(q + ramp + hold), Duration.ofMinutes(6)));
        });
    add(
        "syn-queue-bursts-drain",
        "SYN bursts fill a listener's SYN queue for one or two samples every 3-8 min and drain at"
            + " once (syncookies answer the excess): no page",
        s -> {
          String name = "syn-queue-bursts-drain";
          Random p = new Random(s * 7919 + 113);
          long backlog = 511;
          double period = between(p, 3, 8);
          double phase = between(p, 0, period);
          double width = p.nextBoolean() ? 0.1 : 0.25; // one or two samples of 10 s
          TableTrace tt = new TableTrace();
          tt.synRefusedPerMin = between(p, 500, 5_000);
          tt.listen(
              new TableTrace.Listen(
                  "0.0.0.0:80", pid(p), "haproxy", backlog, (m, r) -> r.nextInt(5), 0));
          tt.syn(
              "0.0.0.0:80",
              (m, r) -> (m + phase) % period < width ? backlog : r.nextInt((int) (backlog / 4)));
          var g = new TraceGenerator(host(name, s), T0, s);
          return new Trace(
              name,
              fmt("haproxy :80 SYN queue full for %.0f s every %.1f min", width * 60, period),
              tt.apply(g.generate(90), T0, s),
              null);
        });
    add(
        "accept-queue-near-backlog",
        "a busy listener at 60-90 % of its backlog, never full: no page",
        s -> {
          String name = "accept-queue-near-backlog";
          Random p = new Random(s * 7919 + 107);
          long backlog = 511;
          double level = backlog * between(p, 0.6, 0.8);
          TableTrace tt = new TableTrace();
          tt.listen(
              new TableTrace.Listen(
                  "127.0.0.1:5432",
                  pid(p),
                  "postgres",
                  backlog,
                  (m, r) -> Math.min(backlog - 1, level + noise(r, backlog * 0.1)),
                  0));
          var g = new TraceGenerator(host(name, s), T0, s);
          return new Trace(
              name,
              fmt("postgres :5432 at %.0f of %d", level, backlog),
              tt.apply(g.generate(90), T0, s),
              null);
        });
  }
}
