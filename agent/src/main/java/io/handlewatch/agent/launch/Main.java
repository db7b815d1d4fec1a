package io.handlewatch.agent.launch;

import io.handlewatch.agent.runtime.AgentRuntime;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * {@code handlewatch-agent}'s main class. The command line (picocli and the commands of {@code
 * io.handlewatch.agent.cli}) is parsed in a class loader of its own, which is dropped once parsing
 * is done: the daemon parses its command line once, at start-up, and the ~190 classes that took
 * (picocli's metadata, class space and symbols, ~2 MiB) would otherwise stay resident for the life
 * of the process on every host (BENCHMARKS.md, "picocli unloaded after parsing"). Every command
 * other than {@code run} runs to its end inside that loader; {@code run} hands back its daemon,
 * started, made only of the application loader's classes, and the daemon runs on the main thread
 * once one full collection has unloaded the command line's classes.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    // Before anything logs: keep logging through the shutdown hooks (AgentLogManager).
    System.setProperty("java.util.logging.manager", AgentLogManager.class.getName());
    // One line per log event, for operators and journald.
    System.setProperty(
        "java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
    AtomicReference<AgentRuntime> daemon = new AtomicReference<>();
    int code =
        parse(
            args,
            agent -> {
              start(agent);
              daemon.set(agent);
            });
    AgentRuntime agent = daemon.get();
    if (agent == null) System.exit(code);
    // The loader of the command line is unreachable once parse() has returned (its frame held
    // it); the serial collector's full collection unloads its classes, and metaspace gives their
    // chunks back to the system.
    System.gc();
    agent.runLinkOnThisThread();
    System.exit(0);
  }

  /**
   * Starts {@code run}'s daemon ({@link AgentRuntime#startWithoutLinkThread}) on a thread of its
   * own, whose stack holds none of the command line's frames: a Throwable keeps the classes of the
   * frames it was made under (its backtrace), and the classes the start initializes keep some in
   * static fields (Netty, why it works without sun.misc.Unsafe); made under {@code run}'s frames,
   * one would keep the command line's whole class loader. Throws as the start does, an IOException
   * wrapped in an UncheckedIOException.
   */
  static void start(AgentRuntime agent) {
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread starter =
        Thread.ofPlatform()
            .name("handlewatch-start")
            .start(
                () -> {
                  try {
                    agent.startWithoutLinkThread();
                  } catch (Throwable e) {
                    failed.set(e);
                  }
                });
    try {
      starter.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the daemon started", e);
    }
    // Not a pattern switch: its bootstrap spins a hidden class that would stay for good.
    Throwable e = failed.get();
    if (e == null) return;
    if (e instanceof IOException io) throw new UncheckedIOException(io);
    if (e instanceof RuntimeException re) throw re;
    if (e instanceof Error err) throw err;
    throw new IllegalStateException("the daemon did not start", e);
  }

  /**
   * Runs the command line in a throwaway {@link CliClassLoader}: its exit code, and for {@code run}
   * its started daemon given to {@code daemon}. Nothing of that loader is reachable once this
   * returns.
   */
  static int parse(String[] args, Consumer<AgentRuntime> daemon) throws Exception {
    try (CliClassLoader loader = CliClassLoader.over(Main.class.getClassLoader())) {
      Method launch =
          loader
              .loadClass("io.handlewatch.agent.cli.AgentMain")
              .getMethod("launch", String[].class, Consumer.class);
      try {
        return (Integer) launch.invoke(null, args, daemon);
      } catch (InvocationTargetException e) {
        // picocli reports every error of a command itself; what comes here is a JVM error.
        if (e.getCause() instanceof Error err) throw err;
        if (e.getCause() instanceof Exception ex) throw ex;
        throw e;
      }
    }
  }
}
