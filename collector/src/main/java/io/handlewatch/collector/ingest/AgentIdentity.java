package io.handlewatch.collector.ingest;

import java.util.Set;

/**
 * Who an authenticated agent is: the host names its credential allows it to report for, and the
 * credential in words for logs and refusals ("certificate CN=web-1", "token of web-1").
 */
record AgentIdentity(Set<String> hosts, String credential) {
  AgentIdentity {
    hosts = Set.copyOf(hosts);
  }

  boolean allows(String hostname) {
    return hosts.contains(hostname);
  }

  /** One stable name for the agent, for per-agent limits. */
  String key() {
    return hosts.stream().sorted().findFirst().orElse(credential);
  }
}
