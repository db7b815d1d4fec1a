package io.handlewatch.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class JavaHeapTest {
  @Test
  void theFirstSampleIsCollectedWhateverTheHeapDidBeforeIt() {
    // The heap grew during the first sample, before anything could take a floor: the first check
    // still collects.
    AtomicLong committed = new AtomicLong(10L << 20);
    JavaHeap heap = new JavaHeap(committed::get, () -> committed.set(8L << 20));

    assertThat(heap.afterSample()).isTrue();
    assertThat(committed.get()).isEqualTo(8L << 20);
    assertThat(heap.afterSample()).isFalse();
    assertThat(heap.collections()).isEqualTo(1);
  }

  @Test
  void collectsOnlyOnceTheHeapGrewBeyondWhereTheLastCollectionLeftIt() {
    AtomicLong leftAt = new AtomicLong(8L << 20);
    AtomicLong committed = new AtomicLong(8L << 20);
    JavaHeap heap = new JavaHeap(committed::get, () -> committed.set(leftAt.get()));
    assertThat(heap.afterSample()).as("the first sample").isTrue();
    leftAt.set(9L << 20);

    committed.set((8L << 20) + JavaHeap.GROWTH - 1);
    assertThat(heap.afterSample()).isFalse();
    committed.set((8L << 20) + JavaHeap.GROWTH);
    assertThat(heap.afterSample()).isTrue();
    assertThat(heap.collections()).isEqualTo(2);

    // The floor is where the collection left the heap (9 MiB), not where it started.
    committed.set((9L << 20) + JavaHeap.GROWTH - 1);
    assertThat(heap.afterSample()).isFalse();
    committed.set((9L << 20) + JavaHeap.GROWTH);
    assertThat(heap.afterSample()).isTrue();
    assertThat(heap.collections()).isEqualTo(3);
  }
}
