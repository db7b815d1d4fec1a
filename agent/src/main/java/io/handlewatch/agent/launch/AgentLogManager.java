package io.handlewatch.agent.launch;

import java.util.logging.LogManager;

/**
 * JUL's own shutdown hook resets the LogManager, removing every handler, while the agent's shutdown
 * hook is still logging what it leaves in the spool; the two hooks run concurrently, so that last
 * line was often lost. This manager ignores resets: the agent configures logging once and never
 * reconfigures it, and its console handler flushes every record, so nothing waits to be written
 * when the JVM exits.
 */
public final class AgentLogManager extends LogManager {
  @Override
  public void reset() {
    // Left alone on purpose, see the class comment.
  }
}
