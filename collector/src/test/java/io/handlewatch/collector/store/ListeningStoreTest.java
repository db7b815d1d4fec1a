package io.handlewatch.collector.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Ingest talks to the store through {@link ListeningStore}: a default method of {@link SampleStore}
 * it does not forward answers with the default instead of the store's own answer (the write backlog
 * read as 0 hid a full InfluxDB buffer from ingest's backpressure).
 */
class ListeningStoreTest {
  @Test
  void forwardsEveryDefaultMethodOfTheContract() throws Exception {
    List<String> notForwarded =
        Arrays.stream(SampleStore.class.getMethods())
            .filter(Method::isDefault)
            .filter(m -> !Modifier.isStatic(m.getModifiers()))
            .filter(m -> !overridden(m))
            .map(Method::getName)
            .toList();
    assertThat(notForwarded).as("SampleStore defaults ListeningStore leaves alone").isEmpty();
  }

  private static boolean overridden(Method m) {
    try {
      return ListeningStore.class.getDeclaredMethod(m.getName(), m.getParameterTypes()) != null;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }
}
