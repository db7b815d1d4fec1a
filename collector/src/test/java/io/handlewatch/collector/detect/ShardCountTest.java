package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The default shard count keeps detection from being one thread among ingest's many on a collector
 * with one or two cores; an explicit count is taken as given.
 */
class ShardCountTest {

  @Test
  void byDefaultOnePerCoreAndNeverFewerThanFour() {
    DetectionFactory config = new DetectionFactory();
    assertThat(config.shards).isZero();
    assertThat(config.shardCount())
        .isEqualTo(Math.max(4, Runtime.getRuntime().availableProcessors()))
        .isGreaterThanOrEqualTo(DetectionFactory.MIN_DEFAULT_SHARDS);
  }

  @Test
  void anExplicitCountIsKept() {
    DetectionFactory config = new DetectionFactory();
    config.shards = 1;
    assertThat(config.shardCount()).isEqualTo(1);
    config.shards = 7;
    assertThat(config.shardCount()).isEqualTo(7);
  }
}
