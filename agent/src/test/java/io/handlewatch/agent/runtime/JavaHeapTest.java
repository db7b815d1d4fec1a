package io.handlewatch.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class JavaHeapTest {
  @Test
  void collectsOnlyOnceTheHeapGrewBeyondWhereTheLastCollectionLeftIt() {
    AtomicLong committed = new AtomicLong(8L << 20);
    JavaHeap heap = new JavaHeap(committed::get, () -> committed.set(9L << 20));

    committed.set((8L << 20) + JavaHeap.GROWTH - 1);
    assertThat(heap.afterSample()).isFalse();
    committed.set((8L << 20) + JavaHeap.GROWTH);
    assertThat(heap.afterSample()).isTrue();
    assertThat(heap.collections()).isEqualTo(1);

    // The floor is where the collection left the heap (9 MiB), not where it started.
    committed.set((9L << 20) + JavaHeap.GROWTH - 1);
    assertThat(heap.afterSample()).isFalse();
    committed.set((9L << 20) + JavaHeap.GROWTH);
    assertThat(heap.afterSample()).isTrue();
    assertThat(heap.collections()).isEqualTo(2);
  }
}
