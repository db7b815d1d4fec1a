package io.handlewatch.collector.store;

/** The answer of {@link SampleStore#check()}: healthy or not, and a line an operator can act on. */
public record StoreHealth(boolean healthy, String message) {
  public static StoreHealth ok(String message) {
    return new StoreHealth(true, message);
  }

  public static StoreHealth failing(String message) {
    return new StoreHealth(false, message);
  }
}
