package io.handlewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AdmissionBudgetTest {
  private final AtomicLong nanos = new AtomicLong();
  private final AdmissionBudget budget = new AdmissionBudget(100, nanos::get);
  private final List<String> granted = new ArrayList<>();

  private Runnable grant(String name) {
    return () -> granted.add(name);
  }

  @Test
  void creditIsTakenUpToTheCapacityAndThenRequestsWaitInArrivalOrder() {
    assertThat(budget.take(60, grant("a"))).isTrue();
    assertThat(budget.take(40, grant("b"))).isTrue();
    assertThat(budget.take(30, grant("c"))).isFalse();
    assertThat(budget.take(5, grant("d")))
        .as("a small request does not overtake one queued before it")
        .isFalse();
    assertThat(budget.inUse()).isEqualTo(100);
    assertThat(budget.waiting()).isEqualTo(2);
    assertThat(budget.waitingPoints()).isEqualTo(35);
    assertThat(budget.oversubscribed()).isTrue();

    budget.give(20);
    assertThat(granted).as("20 free, c needs 30").isEmpty();
    budget.give(40);
    assertThat(granted).containsExactly("c", "d");
    assertThat(budget.inUse()).isEqualTo(75);
    assertThat(budget.oversubscribed()).isFalse();
  }

  @Test
  void aRequestLargerThanTheWholeBudgetIsAdmittedAloneInsteadOfNever() {
    assertThat(budget.take(10, grant("small"))).isTrue();
    assertThat(budget.take(250, grant("huge"))).isFalse();
    budget.give(10);
    assertThat(granted).containsExactly("huge");
    assertThat(budget.take(1, grant("next"))).isFalse();
    budget.give(250);
    assertThat(granted).containsExactly("huge", "next");
  }

  @Test
  void aCancelledWaiterIsNeverGrantedAndLetsTheOnesBehindItIn() {
    budget.take(100, grant("a"));
    Runnable b = grant("b");
    budget.take(80, b);
    budget.take(10, grant("c"));
    budget.give(50);
    assertThat(granted).isEmpty();
    assertThat(budget.cancel(b)).isTrue();
    assertThat(granted).containsExactly("c");
    assertThat(budget.cancel(b)).as("already gone").isFalse();
    assertThat(budget.waitingPoints()).isZero();
  }

  @Test
  void creditGivenBackTwiceIsABug() {
    budget.take(10, grant("a"));
    budget.give(10);
    assertThatThrownBy(() -> budget.give(10)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void grantsThatGiveCreditBackAtOnceDoNotNest() {
    // A store that answers at once (the memory store) gives credit back inside the grant: ten
    // thousand chained grants must run one after the other, not ten thousand frames deep.
    AdmissionBudget one = new AdmissionBudget(1, nanos::get);
    int[] done = {0};
    one.take(1, () -> {});
    for (int i = 0; i < 10_000; i++) {
      one.take(
          1,
          () -> {
            done[0]++;
            one.give(1);
          });
    }
    one.give(1);
    assertThat(done[0]).isEqualTo(10_000);
    assertThat(one.inUse()).isZero();
  }

  @Test
  void beforeTheRateIsKnownAgentsAreToldToWaitBriefly() {
    budget.take(100, grant("a"));
    budget.take(50, grant("w"));
    assertThat(budget.retryDelay(Duration.ofSeconds(1), Duration.ofSeconds(60)))
        .isBetween(Duration.ofSeconds(1), Duration.ofSeconds(2));
  }

  @Test
  void agentsAreToldToComeBackWhenTheStoreWillHaveTakenWhatWaits() {
    budget.take(100, grant("a"));
    budget.drainRate();
    for (int s = 1; s <= 5; s++) {
      nanos.addAndGet(1_000_000_000L);
      budget.give(10); // 10 points a second settle
      budget.take(10, grant("r" + s));
      budget.drainRate();
    }
    budget.take(500, grant("next of a stream already in"));
    budget.take(50, true, grant("w1"));
    budget.take(50, true, grant("w2"));
    assertThat(budget.waitingPoints()).isEqualTo(600);
    // 100 points of first reports waiting at 10 points/s: 10 s, times a random 1 to 2; a stream
    // that opens goes ahead of the 500 points of the streams already in.
    for (int i = 0; i < 50; i++) {
      Duration d = budget.retryDelay(Duration.ofSeconds(1), Duration.ofSeconds(60));
      assertThat(d).isBetween(Duration.ofSeconds(10), Duration.ofSeconds(20));
    }
    assertThat(budget.retryDelay(Duration.ofSeconds(1), Duration.ofSeconds(5)))
        .isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void aStreamsFirstReportGoesAheadOfTheNextReportsOfStreamsAlreadyIn() {
    assertThat(budget.take(100, grant("in flight"))).isTrue();
    assertThat(budget.take(30, grant("a2"))).isFalse();
    assertThat(budget.take(30, grant("b2"))).isFalse();
    assertThat(budget.take(40, true, grant("new1"))).isFalse();
    assertThat(budget.take(10, true, grant("new2"))).isFalse();
    assertThat(budget.newcomersWaiting()).isEqualTo(2);
    assertThat(budget.waiting()).isEqualTo(4);
    assertThat(budget.waitingPoints()).isEqualTo(110);

    budget.give(40);
    assertThat(granted)
        .as("the first report in, none of the others' past it")
        .containsExactly("new1");
    budget.give(30);
    assertThat(granted).containsExactly("new1", "new2");
    assertThat(budget.take(5, grant("a3")))
        .as("behind the others' waiting reports, though it would fit")
        .isFalse();
    budget.give(60);
    assertThat(granted).containsExactly("new1", "new2", "a2", "b2", "a3");
    assertThat(budget.inUse()).isEqualTo(85);
    assertThat(budget.oversubscribed()).isFalse();
  }

  @Test
  void aFirstReportThatDoesNotFitYetHoldsTheOthersBackUntilItDoes() {
    budget.take(90, grant("in flight"));
    budget.take(50, true, grant("new"));
    budget.take(5, grant("small"));
    budget.give(40);
    assertThat(granted).containsExactly("new");
    assertThat(budget.inUse()).isEqualTo(100);
    budget.give(5);
    assertThat(granted).containsExactly("new", "small");
    assertThat(budget.inUse()).isLessThanOrEqualTo(budget.capacity());
  }

  @Test
  void streamsThatOpenAreLetInWhileOnlyStreamsAlreadyInWaitAndDeferredOnceFirstReportsPileUp() {
    budget.take(100, grant("in flight"));
    budget.take(50, grant("a2"));
    assertThat(budget.oversubscribed()).isTrue();
    assertThat(budget.admitsNewStream())
        .as("the streams already in having reports waiting does not keep a new one out")
        .isTrue();
    budget.take(10, true, grant("new1"));
    assertThat(budget.admitsNewStream())
        .as("before the store's rate is known, one first report waiting is enough to defer")
        .isFalse();
    budget.give(100);
    assertThat(granted).containsExactly("new1", "a2");

    // 10 points a second settle: up to 10 points of first reports may wait, a second's worth.
    AdmissionBudget settling = new AdmissionBudget(100, nanos::get);
    settling.take(100, grant("in flight"));
    settling.drainRate();
    for (int s = 1; s <= 5; s++) {
      nanos.addAndGet(1_000_000_000L);
      settling.give(10);
      settling.take(10, grant("r" + s));
      settling.drainRate();
    }
    settling.take(10, grant("next"));
    settling.take(10, true, grant("new2"));
    assertThat(settling.admitsNewStream()).as("10 points, a second's worth").isTrue();
    settling.take(10, true, grant("new3"));
    assertThat(settling.admitsNewStream()).as("20 points, more than a second's worth").isFalse();
  }

  @Test
  void aCancelledFirstReportLetsTheOthersIn() {
    budget.take(100, grant("in flight"));
    Runnable first = grant("new");
    budget.take(80, true, first);
    budget.take(10, grant("a2"));
    budget.give(50);
    assertThat(granted).isEmpty();
    assertThat(budget.cancel(first)).isTrue();
    assertThat(granted).containsExactly("a2");
    assertThat(budget.waitingPoints()).isZero();
    assertThat(budget.newcomersWaiting()).isZero();
  }
}
