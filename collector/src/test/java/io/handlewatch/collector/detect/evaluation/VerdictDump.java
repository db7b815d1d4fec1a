package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionEngine;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.collector.detect.Verdict;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.proto.v1.HostReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every verdict, alert transition and verdict point of every scenario run, one line each, in a
 * file: two builds of the detector judge the same traces alike exactly when their dumps are equal
 * (diff them). Not a test; for changes that must not change a verdict.
 *
 * <p>Arguments: output file, seeds (8).
 */
public final class VerdictDump {
  public static void main(String[] args) throws IOException {
    Path out = Path.of(args[0]);
    int seeds = args.length > 1 ? Integer.parseInt(args[1]) : Scenarios.SEEDS;
    long lines = 0;
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out, StandardCharsets.UTF_8))) {
      for (Scenarios.Scenario s : Scenarios.all()) {
        for (long seed = 1; seed <= seeds; seed++) {
          Trace trace = s.trace().apply(seed);
          List<String> events = new ArrayList<>();
          DetectionEngine engine =
              new DetectionEngine(
                  new DetectionFactory().build(),
                  a -> events.add("alert " + alert(a)),
                  p -> {
                    for (StoredPoint sp : p) events.add("point " + sp);
                  },
                  h -> Map.of());
          for (HostReport r : trace.reports()) {
            for (Verdict v : engine.evaluate(r)) events.add("verdict " + verdict(v));
            for (String e : events) w.println(s.name() + " " + seed + " " + r.getSeq() + " " + e);
            lines += events.size();
            events.clear();
          }
        }
      }
    }
    System.out.println("lines=" + lines);
  }

  private static String alert(Alert a) {
    return a.status()
        + " "
        + a.dedupKey()
        + " "
        + a.labels()
        + " "
        + a.annotations()
        + " "
        + a.startsAt()
        + " "
        + a.endsAt();
  }

  private static String verdict(Verdict v) {
    return v.dedupKey()
        + " "
        + v.severity()
        + " at="
        + v.at()
        + " eta="
        + v.eta()
        + " slope="
        + v.slopePerMin()
        + " value="
        + v.value()
        + " limit="
        + v.limit()
        + " since="
        + v.since()
        + " window="
        + v.window()
        + " labels="
        + new java.util.TreeMap<>(v.labels())
        + " summary="
        + v.summary();
  }
}
