package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.collector.detect.Kind;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import java.nio.file.Path;

/**
 * The example trace of the replay walk-through in docs/detection.md, checked in at {@link #FILE}:
 * host web-7, 45 minutes every 10 s; java[2207] is quiet for 15 minutes, leaks one CLOSE_WAIT
 * socket per second towards 10.0.0.5:5432 for 15 minutes, then closes them all (a fix deployed in
 * place) and stays quiet. Replayed with the default configuration it pages once and resolves once.
 * Regenerate on purpose: {@code java -cp ... ExampleTrace} (ExampleTraceTest says how).
 */
public final class ExampleTrace {
  private ExampleTrace() {}

  public static final Path FILE = Path.of("src/test/resources/traces/close-wait-leak.jsonl");

  public static Trace trace() {
    Curve cw = (m, r) -> (m >= 15 && m < 30 ? 2 + (m - 15) * 60 : 2) + r.nextInt(3) - 1;
    Curve fds = (m, r) -> 1_500 + (m >= 15 && m < 30 ? (m - 15) * 60 : 0) + r.nextInt(21) - 10;
    var g = new TraceGenerator("web-7", Traces.T0, 301);
    g.add(new Process(2207, 70_000, "java", 65_536, fds, cw, "10.0.0.5:5432", 0, 1e9));
    return new Trace(
        "close-wait-leak",
        "java[2207] on web-7 leaks 1 CLOSE_WAIT/s to 10.0.0.5:5432 from minute 15 to 30",
        g.generate(45),
        new Trace.Leak(Kind.CLOSE_WAIT, "java[2207]", g.at(15), null));
  }

  public static void main(String[] args) throws Exception {
    Path out = args.length > 0 ? Path.of(args[0]) : FILE;
    trace().writeJsonLines(out);
    System.out.println("wrote " + out);
  }
}
