package io.handlewatch.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CollectorTargetsTest {
  @Test
  void oneAddressIsPassedToGrpcAsIs() {
    CollectorTargets t = CollectorTargets.parse("collectors.example:9400");
    assertThat(t.isList()).isFalse();
    assertThat(t.grpcTarget()).isEqualTo("collectors.example:9400");
    assertThat(t.addresses())
        .containsExactly(new CollectorTargets.Address("collectors.example", 9400));
  }

  @Test
  void aListNamesEachCollectorAndGoesToTheListResolver() {
    CollectorTargets t = CollectorTargets.parse("c1.example:9400, [::1]:9401,10.0.0.7:9402");
    assertThat(t.isList()).isTrue();
    assertThat(t.addresses())
        .containsExactly(
            new CollectorTargets.Address("c1.example", 9400),
            new CollectorTargets.Address("::1", 9401),
            new CollectorTargets.Address("10.0.0.7", 9402));
    assertThat(t.addresses().get(1)).hasToString("[::1]:9401");
    assertThat(t.grpcTarget()).startsWith(CollectorListResolver.SCHEME + ":///");
  }

  @Test
  void aGrpcUriIsPassedOn() {
    CollectorTargets t = CollectorTargets.parse("dns:///collectors.example:9400");
    assertThat(t.addresses()).isEmpty();
    assertThat(t.grpcTarget()).isEqualTo("dns:///collectors.example:9400");
  }

  @Test
  void badSpecsSayWhatIsWrong() {
    assertThatThrownBy(() -> CollectorTargets.parse("collector")).hasMessageContaining("HOST:PORT");
    assertThatThrownBy(() -> CollectorTargets.parse("c1:9400,c2"))
        .hasMessageContaining("in each entry")
        .hasMessageContaining("\"c2\"");
    assertThatThrownBy(() -> CollectorTargets.parse("c1:70000")).hasMessageContaining("1 to 65535");
    assertThatThrownBy(() -> CollectorTargets.parse("c1:9400,")).hasMessageContaining("\"\"");
    assertThatThrownBy(() -> CollectorTargets.parse(" ")).hasMessageContaining("HOST:PORT");
  }
}
