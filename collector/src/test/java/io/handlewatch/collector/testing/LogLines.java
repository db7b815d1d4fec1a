package io.handlewatch.collector.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import org.slf4j.LoggerFactory;

/**
 * What a test's code under watch logs while it is open: the lines of one SLF4J (logback) logger and
 * of one java.util.logging logger tree (gRPC logs there), each with whether it carried a stack
 * trace.
 */
public final class LogLines implements AutoCloseable {
  private record Line(String text, boolean stackTrace) {}

  private final List<Line> lines = new CopyOnWriteArrayList<>();
  private final Logger logback;
  private final AppenderBase<ILoggingEvent> appender;
  private final java.util.logging.Logger jul;
  private final Handler handler;

  public LogLines(Class<?> slf4jLogger, String julLogger) {
    logback = (Logger) LoggerFactory.getLogger(slf4jLogger);
    appender =
        new AppenderBase<>() {
          @Override
          protected void append(ILoggingEvent e) {
            lines.add(new Line(e.getFormattedMessage(), e.getThrowableProxy() != null));
          }
        };
    appender.start();
    logback.addAppender(appender);
    jul = java.util.logging.Logger.getLogger(julLogger);
    handler =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            lines.add(new Line(r.getMessage(), r.getThrown() != null));
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    jul.addHandler(handler);
  }

  /** The first line matching {@code p}, waiting up to 10 s for it. */
  public String await(Predicate<String> p) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      for (Line l : lines) if (p.test(l.text())) return l.text();
      Thread.sleep(20);
    }
    throw new AssertionError("no such line within 10 s; logged: " + all());
  }

  public List<String> all() {
    return lines.stream().map(Line::text).toList();
  }

  public List<String> withStackTrace() {
    return lines.stream().filter(Line::stackTrace).map(Line::text).toList();
  }

  @Override
  public void close() {
    logback.detachAppender(appender);
    jul.removeHandler(handler);
  }
}
