package io.handlewatch.collector.detect.evaluation;

import static io.handlewatch.collector.detect.evaluation.TraceGenerator.jitter;

import io.handlewatch.collector.detect.Kind;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The evaluation's traces, each from its own seed: leaks that must page (fds at three rates,
 * CLOSE_WAIT at two) and hosts that must not (a step, a sawtooth, a diurnal swing, noise with
 * spikes, a high stable CLOSE_WAIT count, a restart). Every leak starts after 20 quiet minutes, so
 * the detector's window holds history from before it, as it would in production.
 */
public final class Traces {
  private Traces() {}

  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");
  static final double QUIET = 20;

  private static final Map<String, Supplier<Trace>> TRACES = new LinkedHashMap<>();

  static {
    TRACES.put("fd-leak-1h", () -> fdLeak("fd-leak-1h", 101, 20_000, 2_000, 60, 40));
    TRACES.put("fd-leak-2h", () -> fdLeak("fd-leak-2h", 102, 65_536, 3_000, 120, 90));
    TRACES.put("fd-leak-12h", () -> fdLeak("fd-leak-12h", 103, 4_096, 500, 720, 8));
    TRACES.put("close-wait-1/s", () -> closeWaitLeak("close-wait-1/s", 104, 60));
    TRACES.put("close-wait-10/min", () -> closeWaitLeak("close-wait-10/min", 105, 10));
    TRACES.put("step", Traces::step);
    TRACES.put("sawtooth", Traces::sawtooth);
    TRACES.put("diurnal", Traces::diurnal);
    TRACES.put("noisy", Traces::noisy);
    TRACES.put("stable-5000", Traces::stableCloseWait);
    TRACES.put("restart", Traces::restart);
  }

  /** Every trace, leaks first. */
  public static List<Trace> all() {
    return TRACES.values().stream().map(Supplier::get).toList();
  }

  /** One trace by its name. */
  public static Trace named(String name) {
    Supplier<Trace> t = TRACES.get(name);
    if (t == null)
      throw new IllegalArgumentException("no trace " + name + "; have " + TRACES.keySet());
    return t.get();
  }

  /**
   * One process leaking fds linearly from {@code level} so that it reaches {@code limit} {@code
   * exhaustMinutes} after the leak starts; fds jitter by ±{@code noise}.
   */
  static Trace fdLeak(
      String name, long seed, long limit, double level, double exhaustMinutes, double noise) {
    double rate = (limit - level) / exhaustMinutes;
    Curve fds = (m, r) -> level + Math.max(0, m - QUIET) * rate + (r.nextDouble() * 2 - 1) * noise;
    var g = new TraceGenerator(name, T0, seed);
    g.add(
        new Process(
            4121, 90_000, "java", limit, fds, jitter(2, 2), TraceGenerator.DATABASE, 0, 1e9));
    double minutes = QUIET + Math.min(exhaustMinutes, 180);
    return new Trace(
        name,
        String.format(
            "java leaks %.0f fds/min from %,.0f towards its soft limit %,d, exhausted %.0f min"
                + " after the leak starts (±%.0f fds noise)",
            rate, level, limit, exhaustMinutes, noise),
        g.generate(minutes),
        new Trace.Leak(Kind.PROCESS_FDS, "java[4121]", g.at(QUIET), g.at(QUIET + exhaustMinutes)));
  }

  /** A process whose CLOSE_WAIT sockets (and so its fds) grow by {@code perMinute}. */
  static Trace closeWaitLeak(String name, long seed, double perMinute) {
    long limit = 65_536;
    double level = 1_500;
    Curve cw = (m, r) -> 3 + Math.max(0, m - QUIET) * perMinute + r.nextInt(3) - 1;
    Curve fds = (m, r) -> level + Math.max(0, m - QUIET) * perMinute + r.nextInt(21) - 10;
    var g = new TraceGenerator(name.replace('/', '-'), T0, seed);
    g.add(new Process(2207, 70_000, "api-gw", limit, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
    double exhaust = (limit - level) / perMinute;
    return new Trace(
        name,
        String.format(
            "api-gw leaks %.0f CLOSE_WAIT sockets/min towards %s (each an fd; %,d-fd limit)",
            perMinute, TraceGenerator.DATABASE, limit),
        g.generate(QUIET + 60),
        new Trace.Leak(Kind.CLOSE_WAIT, "api-gw[2207]", g.at(QUIET), g.at(QUIET + exhaust)));
  }

  /** A one-off step: a pool grows once (fds 3,000 → 9,000, CLOSE_WAIT 2 → 400) and stays. */
  static Trace step() {
    var g = new TraceGenerator("step", T0, 106);
    Curve fds = (m, r) -> (m < QUIET ? 3_000 : 9_000) + r.nextInt(41) - 20;
    Curve cw = (m, r) -> (m < QUIET ? 2 : 400) + r.nextInt(5) - 2;
    g.add(new Process(3301, 50_000, "java", 65_536, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
    return new Trace(
        "step",
        "at 20 min a pool grows once: fds 3,000 → 9,000, CLOSE_WAIT 2 → 400, then flat",
        g.generate(120),
        null);
  }

  /** A leak a pool releases every 10 minutes: fds and CLOSE_WAIT ramp, then fall back. */
  static Trace sawtooth() {
    var g = new TraceGenerator("sawtooth", T0, 107);
    Curve fds = (m, r) -> 3_000 + (m % 10) * 250 + r.nextInt(21) - 10;
    Curve cw = (m, r) -> 2 + (m % 10) * 40 + r.nextInt(3) - 1;
    g.add(new Process(3402, 51_000, "java", 8_192, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
    return new Trace(
        "sawtooth",
        "every 10 min a pool releases what it leaked: fds ramp 3,000 → 5,500 of 8,192,"
            + " CLOSE_WAIT 2 → 400, then drop back",
        g.generate(180),
        null);
  }

  /** A daily load swing over 24 h: fds 8,000 ± 6,000, CLOSE_WAIT 40 ± 30. */
  static Trace diurnal() {
    var g = new TraceGenerator("diurnal", T0, 108);
    Curve fds = (m, r) -> 8_000 + 6_000 * Math.sin(2 * Math.PI * m / 1440) + r.nextInt(81) - 40;
    Curve cw = (m, r) -> 40 + 30 * Math.sin(2 * Math.PI * m / 1440) + r.nextInt(11) - 5;
    g.add(new Process(3503, 52_000, "envoy", 65_536, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
    return new Trace(
        "diurnal",
        "24 h of load following the day: envoy's fds 2,000–14,000 of 65,536, CLOSE_WAIT 10–70",
        g.generate(1440),
        null);
  }

  /** Noise and spikes around a stable level: ±400 fds, ±15 CLOSE_WAIT, a burst every 13 min. */
  static Trace noisy() {
    var g = new TraceGenerator("noisy", T0, 109);
    Curve fds = (m, r) -> 3_000 + r.nextInt(801) - 400 + (((int) (m * 6)) % 78 == 0 ? 2_500 : 0);
    Curve cw = (m, r) -> 20 + r.nextInt(31) - 15 + (((int) (m * 6)) % 78 == 0 ? 300 : 0);
    g.add(new Process(3604, 53_000, "java", 16_384, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
    return new Trace(
        "noisy",
        "fds 3,000 ± 400 of 16,384 and CLOSE_WAIT 20 ± 15, with a one-sample burst of +2,500 fds"
            + " and +300 CLOSE_WAIT every 13 min",
        g.generate(180),
        null);
  }

  /** 5,000 CLOSE_WAIT sockets that never grow. */
  static Trace stableCloseWait() {
    var g = new TraceGenerator("stable-5000", T0, 110);
    Curve cw = jitter(5_000, 8);
    Curve fds = jitter(6_200, 12);
    g.add(new Process(3705, 54_000, "java", 65_536, fds, cw, TraceGenerator.DATABASE, 0, 1e9));
    return new Trace(
        "stable-5000",
        "java holds 5,000 ± 8 CLOSE_WAIT sockets (fds 6,200 of 65,536) for 2 h, never growing",
        g.generate(120),
        null);
  }

  /** A process restarts: its 4,000 fds and 300 CLOSE_WAIT drop to zero, its successor warms up. */
  static Trace restart() {
    var g = new TraceGenerator("restart", T0, 111);
    g.add(
        new Process(
            3806,
            55_000,
            "java",
            65_536,
            jitter(4_000, 20),
            jitter(300, 3),
            TraceGenerator.DATABASE,
            0,
            60));
    // The new process (new pid, new start time) fills its pool in 2 minutes.
    Curve warmUp = (m, r) -> Math.min(4_000, (m - 60.5) * 2_000) + r.nextInt(41) - 20;
    g.add(
        new Process(
            3951,
            55_000 + 60 * 60 * 100,
            "java",
            65_536,
            warmUp,
            jitter(1, 1),
            TraceGenerator.DATABASE,
            60.5,
            1e9));
    return new Trace(
        "restart",
        "java (4,000 fds, 300 CLOSE_WAIT) restarts at 60 min: counts drop to zero, the new"
            + " process fills its pool to 4,000 fds in 2 min",
        g.generate(120),
        null);
  }
}
