package io.handlewatch.agent.launch;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.runtime.AgentRuntime;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.ref.WeakReference;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher: {@code run} parsed in a class loader that goes once the daemon is handed back. */
class MainTest {
  @TempDir Path dir;

  private String[] run(String... more) {
    String[] base = {
      "run",
      "--collector",
      "127.0.0.1:1",
      "--state-dir",
      dir.toString(),
      "--tcp-only",
      "--namespaces",
      "own"
    };
    String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  @Test
  void runHandsBackAStartedDaemonAndTheCommandLinesLoaderIsUnloaded() throws Exception {
    AtomicReference<AgentRuntime> daemon = new AtomicReference<>();
    AtomicReference<WeakReference<ClassLoader>> cli = new AtomicReference<>();
    int rc =
        Main.parse(
            run(),
            agent -> {
              // The command that hands the daemon over, and the loader it was defined by.
              Class<?> command =
                  StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE)
                      .walk(
                          frames ->
                              frames
                                  .map(StackWalker.StackFrame::getDeclaringClass)
                                  .filter(c -> c.getName().endsWith(".cli.RunCommand"))
                                  .findFirst()
                                  .orElseThrow());
              cli.set(new WeakReference<>(command.getClassLoader()));
              Main.start(agent);
              daemon.set(agent);
            });
    AgentRuntime agent = daemon.get();
    assertThat(rc).isZero();
    assertThat(agent).isNotNull();
    assertThat(agent.getClass().getClassLoader()).isSameAs(Main.class.getClassLoader());
    assertThat(cli.get().get())
        .as("the command line's own loader")
        .isInstanceOf(CliClassLoader.class)
        .isNotSameAs(Main.class.getClassLoader());

    // A full collection or a few: once nothing the daemon holds reaches into the command line's
    // classes, their loader is collected while the daemon lives.
    for (int i = 0; i < 10 && cli.get().get() != null; i++) System.gc();
    assertThat(cli.get().get()).as("the command line's loader after parsing").isNull();

    Thread link = Thread.ofPlatform().start(() -> runQuietly(agent));
    agent.stop();
    link.join();
    assertThat(agent.lastSeq()).isGreaterThanOrEqualTo(0);
  }

  private static void runQuietly(AgentRuntime agent) {
    try {
      agent.runLinkOnThisThread();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void aStartThatFailsIsReportedByTheCommandWithItsOptionAndExitCode2() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String address = "127.0.0.1:" + taken.getLocalPort();
      AtomicReference<AgentRuntime> daemon = new AtomicReference<>();
      PrintStream old = System.err;
      var err = new ByteArrayOutputStream();
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int rc;
      try {
        rc =
            Main.parse(
                run("--metrics-address", address),
                agent -> {
                  Main.start(agent);
                  daemon.set(agent);
                });
      } finally {
        System.setErr(old);
      }
      assertThat(rc).isEqualTo(2);
      assertThat(daemon.get()).isNull();
      assertThat(err.toString(StandardCharsets.UTF_8))
          .contains("--metrics-address " + address + ": cannot listen: ")
          .contains("Usage: handlewatch-agent run");
    }
  }
}
