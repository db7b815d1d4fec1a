package io.handlewatch.agent.source;

/**
 * One source of the sample. A run returns what it read and notes in {@code problems} what it
 * skipped; it throws only when it produced nothing usable. The sampler times every run and keeps
 * going when one fails.
 *
 * @param <T> what the source produces
 */
@FunctionalInterface
public interface ProcSource<T> {
  T read(Problems problems) throws Exception;
}
