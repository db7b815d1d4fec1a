package io.handlewatch.agent.simulate;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.testing.IngestServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SimulatedFleetTest {
  @Test
  void measureAfterTimesOnlyTheAcksFromThenOn() throws Exception {
    StringWriter text = new StringWriter();
    try (IngestServer server = IngestServer.start(IngestServer.Mode.ACK)) {
      new SimulatedFleet(
              server.target(), 4, Duration.ofMillis(200), 2, 1, 1000, new PrintWriter(text, true))
          .measureAfter(Duration.ofSeconds(2))
          .run(Duration.ofSeconds(4));
    }
    String out = text.toString();
    Matcher done = Pattern.compile("simulate: done: sent \\d+, acked (\\d+),").matcher(out);
    Matcher from =
        Pattern.compile(
                "simulate: acks from 2 s on: (\\d+), ack_latency p50=(\\d+) ms p99=(\\d+) ms"
                    + " p99\\.9=(\\d+) ms max=(\\d+) ms")
            .matcher(out);
    assertThat(done.find()).as(out).isTrue();
    assertThat(from.find()).as(out).isTrue();
    long acked = Long.parseLong(done.group(1));
    long measured = Long.parseLong(from.group(1));
    // 4 hosts every 200 ms for 4 s: about 80 reports, about half of them acked after 2 s.
    assertThat(measured).isBetween(acked / 4, acked * 3 / 4);
    assertThat(Long.parseLong(from.group(3))).isLessThanOrEqualTo(Long.parseLong(from.group(5)));
  }
}
