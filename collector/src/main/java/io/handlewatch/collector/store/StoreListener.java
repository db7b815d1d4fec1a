package io.handlewatch.collector.store;

import io.handlewatch.proto.v1.HostReport;

/**
 * Told about each report once the store has all of its points: the hand-off from storage to the
 * stages after it (detection). Called on the store's completion thread, so an implementation only
 * queues the report and returns; it must never block or throw.
 */
@FunctionalInterface
public interface StoreListener {
  void stored(HostReport report);
}
