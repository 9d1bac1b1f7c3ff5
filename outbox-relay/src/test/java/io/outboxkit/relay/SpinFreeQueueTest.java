package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.debezium.connector.base.ChangeEventQueue;
import io.debezium.connector.base.QueueProvider;
import io.debezium.pipeline.DataChangeEvent;
import io.debezium.util.LoggingContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/** Debezium's own ChangeEventQueue, fed by the default deque and by {@link SpinFreeQueue}. */
class SpinFreeQueueTest {
  private static final int POLLS = 40;

  @Test
  void debeziumFindsItByItsType() {
    List<String> types = new ArrayList<>();
    ServiceLoader.load(QueueProvider.class).forEach(p -> types.add(p.name()));
    assertThat(types).contains(SpinFreeQueue.TYPE, "memory");
  }

  @Test
  void aThirdQuickEmptySizeCallParksUntilTheNextMillisecond() {
    SpinFreeQueue<String> q = new SpinFreeQueue<>();
    // Three calls microseconds apart, as in Debezium's spin; retried if this thread was
    // descheduled between two of them (then it is no spin).
    boolean parkedOnTheThirdCall = false;
    for (int attempt = 0; attempt < 100 && !parkedOnTheThirdCall; attempt++) {
      sleepPastTheSpinGap();
      q.size();
      q.size();
      long parks = q.parks();
      long before = System.currentTimeMillis();
      q.size();
      parkedOnTheThirdCall = q.parks() == parks + 1;
      if (parkedOnTheThirdCall) {
        assertThat(System.currentTimeMillis()).isGreaterThan(before);
      }
    }
    assertThat(parkedOnTheThirdCall).isTrue();
  }

  @Test
  void twoCallsOrAnEnqueueInBetweenNeverPark() {
    SpinFreeQueue<String> q = new SpinFreeQueue<>();
    for (int i = 0; i < 1000; i++) {
      q.size();
      q.size(); // a poll sizes its batch, then drains: two calls, then it waits
      q.enqueue("e");
      assertThat(q.size()).isEqualTo(1);
      q.poll();
      q.size();
      q.enqueue("e");
      q.size();
      q.poll();
      sleepPastTheSpinGap();
    }
    assertThat(q.parks()).isZero();
  }

  @Test
  void anIdlePollOfDebeziumsQueueAsksAFewTimesInsteadOfSpinning() throws InterruptedException {
    CountingQueue<DataChangeEvent> parking = new CountingQueue<>(new SpinFreeQueue<>());
    pollIdle(parking);
    // Debezium's deque is asked thousands of times per idle poll on a quiet machine (the spin);
    // SpinFreeQueue a few times: sizing, draining, after the wait, and around one park.
    assertThat(parking.sizeCalls.get()).isLessThan(15 * POLLS);
  }

  private static void sleepPastTheSpinGap() {
    long until = System.nanoTime() + 2 * SpinFreeQueue.SPIN_GAP_NANOS;
    while (System.nanoTime() < until) {
      Thread.onSpinWait();
    }
  }

  @Test
  void recordsStillArriveInOrderAndFullBatchesReturnAtOnce() throws InterruptedException {
    SpinFreeQueue<DataChangeEvent> provider = new SpinFreeQueue<>();
    provider.configure(Map.of("max.queue.size", "100"));
    ChangeEventQueue<DataChangeEvent> queue = queue(provider, Duration.ofSeconds(30), 10);
    Thread producer =
        new Thread(
            () -> {
              try {
                for (int i = 0; i < 25; i++) {
                  queue.enqueue(event(i));
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    producer.start();

    List<Integer> seen = new ArrayList<>();
    long started = System.nanoTime();
    while (seen.size() < 20) {
      for (DataChangeEvent e : queue.poll()) {
        seen.add((Integer) e.getRecord().value());
      }
    }
    producer.join();
    // Two full batches of 10 came back long before the 30 s poll interval ended.
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    assertThat(seen).containsExactlyElementsOf(range(20));
    assertThat(provider.size()).isEqualTo(5);
  }

  private static void pollIdle(QueueProvider<DataChangeEvent> provider)
      throws InterruptedException {
    ChangeEventQueue<DataChangeEvent> queue = queue(provider, Duration.ofMillis(5), 2048);
    for (int i = 0; i < POLLS; i++) {
      assertThat(queue.poll()).isEmpty();
    }
  }

  private static ChangeEventQueue<DataChangeEvent> queue(
      QueueProvider<DataChangeEvent> provider, Duration pollInterval, int batch) {
    return new ChangeEventQueue.Builder<DataChangeEvent>()
        .pollInterval(pollInterval)
        .maxBatchSize(batch)
        .maxQueueSize(batch * 4)
        .queueProvider(provider)
        .loggingContextSupplier(() -> LoggingContext.forConnector("test", "test", "test"))
        .build();
  }

  private static DataChangeEvent event(int i) {
    return new DataChangeEvent(new SourceRecord(Map.of(), Map.of(), "t", null, i));
  }

  private static List<Integer> range(int n) {
    List<Integer> l = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      l.add(i);
    }
    return l;
  }

  /** Counts how often Debezium's poll loop asks for the size. */
  private static final class CountingQueue<T> implements QueueProvider<T> {
    final QueueProvider<T> delegate;
    final AtomicInteger sizeCalls = new AtomicInteger();

    CountingQueue(QueueProvider<T> delegate) {
      this.delegate = delegate;
      delegate.configure(Map.of("max.queue.size", "8192"));
    }

    @Override
    public String name() {
      return "counting";
    }

    @Override
    public void configure(Map<String, ?> properties) {}

    @Override
    public void enqueue(T event) throws InterruptedException {
      delegate.enqueue(event);
    }

    @Override
    public T poll() throws InterruptedException {
      return delegate.poll();
    }

    @Override
    public int size() {
      sizeCalls.incrementAndGet();
      return delegate.size();
    }
  }
}
