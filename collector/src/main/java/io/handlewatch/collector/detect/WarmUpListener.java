package io.handlewatch.collector.detect;

/**
 * Told when a host new to this collector waits for its history read, and when the detector speaks
 * for its incidents again. Between the two the detector knows nothing of what the host had open
 * before (a restart, a move), so it sends nothing for it: the alert dispatcher keeps what
 * Alertmanager showed firing for the host alive meanwhile. Called on the detector's threads; must
 * not block.
 */
public interface WarmUpListener {
  /** The host's reports wait (or are judged cold) while its history is read from the store. */
  void waiting(String host);

  /**
   * The host's history is in and its open incidents taken over, or it never will be (the read
   * failed, or came too late): from now on the detector alone decides what fires for it.
   */
  void decided(String host);
}
