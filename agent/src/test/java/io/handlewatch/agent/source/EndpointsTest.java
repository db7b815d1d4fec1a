package io.handlewatch.agent.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EndpointsTest {
  @ParameterizedTest
  @CsvSource({
    "10.0.0.5, 5432, 10.0.0.5:5432",
    "127.0.0.1, 80, 127.0.0.1:80",
    "::1, 443, [::1]:443",
    "2001:db8::1, 8080, [2001:db8::1]:8080",
    "2001:db8:0:1:0:0:0:1, 1, [2001:db8:0:1::1]:1",
    "::ffff:10.1.2.3, 5432, 10.1.2.3:5432",
    "::, 0, [::]:0",
    "fe80:0:0:0:1:0:0:0, 22, [fe80::1:0:0:0]:22",
  })
  void formatsLikeAnSreWritesIt(String ip, int port, String expected) throws Exception {
    byte[] raw = InetAddress.getByName(ip).getAddress();
    byte[] sixteen = new byte[16];
    if (ip.startsWith("::ffff:")) {
      sixteen[10] = (byte) 0xff;
      sixteen[11] = (byte) 0xff;
      System.arraycopy(raw, 0, sixteen, 12, 4);
      raw = sixteen;
    }
    assertThat(Endpoints.format(raw, raw.length, port)).isEqualTo(expected);
  }
}
