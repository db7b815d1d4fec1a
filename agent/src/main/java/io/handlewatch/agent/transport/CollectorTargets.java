package io.handlewatch.agent.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where the agent finds its collectors ({@code --collector}), in one of three forms:
 *
 * <ul>
 *   <li>{@code HOST:PORT}: one address. A load balancer in front of several collectors (a
 *       Kubernetes Service, a cloud L4 balancer, HAProxy in TCP mode), or a DNS name that resolves
 *       to each collector (a headless Service): the agent uses every address it resolves to.
 *   <li>{@code HOST:PORT,HOST:PORT,...}: the collectors themselves, each name resolved in turn.
 *   <li>a gRPC target URI such as {@code dns:///collectors.example:9400}, passed on as is.
 * </ul>
 *
 * Whatever the form, the agent keeps one stream to one collector. With several addresses it picks
 * one at random (gRPC's pick_first over a shuffled list, so a fleet spreads over the collectors)
 * and, when that one fails, goes on to the next that answers; the replay of what was not
 * acknowledged follows it there.
 *
 * @param spec what was given
 * @param addresses the HOST:PORT entries; empty for a URI
 */
public record CollectorTargets(String spec, List<Address> addresses) {

  /** One HOST:PORT entry. */
  public record Address(String host, int port) {
    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /**
   * One stream, to a collector picked at random from the addresses, moving to the next one when it
   * fails: gRPC service config (pick_first, shuffled).
   */
  public static final Map<String, Object> SERVICE_CONFIG =
      Map.of(
          "loadBalancingConfig", List.of(Map.of("pick_first", Map.of("shuffleAddressList", true))));

  public CollectorTargets {
    addresses = List.copyOf(addresses);
  }

  /**
   * @throws IllegalArgumentException saying what is wrong with {@code spec}
   */
  public static CollectorTargets parse(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("expected HOST:PORT, got nothing");
    }
    String s = spec.strip();
    if (s.contains("://")) return new CollectorTargets(s, List.of());
    List<Address> out = new ArrayList<>();
    for (String part : s.split(",", -1)) out.add(address(part.strip(), spec));
    return new CollectorTargets(s, out);
  }

  private static Address address(String entry, String spec) {
    int colon = entry.lastIndexOf(':');
    if (colon <= 0 || colon == entry.length() - 1) {
      throw new IllegalArgumentException(
          "expected HOST:PORT"
              + (spec.contains(",") ? " in each entry" : "")
              + ", got \""
              + entry
              + "\"");
    }
    String host = entry.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    int port;
    try {
      port = Integer.parseInt(entry.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65_535 || host.isEmpty()) {
      throw new IllegalArgumentException(
          "expected HOST:PORT with a port from 1 to 65535, got \"" + entry + "\"");
    }
    return new Address(host, port);
  }

  /** Whether this names several collectors one by one (the comma-separated form). */
  public boolean isList() {
    return addresses.size() > 1;
  }

  /**
   * The target to hand gRPC: the address itself, or the list as {@link CollectorListResolver}'s.
   */
  public String grpcTarget() {
    if (addresses.isEmpty()) return spec;
    if (!isList()) return addresses.getFirst().toString();
    // The list itself goes to the resolver; the URI only selects it.
    return CollectorListResolver.SCHEME + ":///collectors";
  }
}
