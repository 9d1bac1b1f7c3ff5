package io.outboxkit.relay;

import io.outboxkit.UuidV7;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import javax.sql.DataSource;

/**
 * Writer threads whose multi-statement transactions interleave in the WAL: single-row commits,
 * transactions of several statements (single and multi-row INSERTs with pauses between them), one
 * long transaction that stays open across many others' commits, a pair of sessions where A writes
 * the WAL record right after B's commit and stays open a while (the others wait meanwhile),
 * savepoints rolled back, and whole transactions rolled back. Ids are known before commit: after
 * the commit they are {@link #committed()}, after a rollback (of the transaction or of a savepoint)
 * {@link #rolledBack()}, and when the commit's outcome is unknown {@link #uncertain()}. Each writer
 * has aggregates of its own, so the committed list holds each aggregate's commit order.
 */
final class InterleavedWriters implements AutoCloseable {
  private final DataSource ds;
  private final List<String> committed = Collections.synchronizedList(new ArrayList<>());
  private final Set<String> rolledBack = Collections.synchronizedSet(new HashSet<>());
  private final Set<String> uncertain = Collections.synchronizedSet(new HashSet<>());
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicLong transactions = new AtomicLong();

  /** Writers take it shared per statement; the pair of writer 1 takes it alone for a while. */
  private final ReentrantReadWriteLock quiet = new ReentrantReadWriteLock();

  private final List<Thread> threads = new ArrayList<>();
  private volatile Exception lastFailure;

  /** Starts {@code count} writers; writer 0 keeps a long transaction open, the others mix. */
  InterleavedWriters(DataSource ds, int count) {
    this.ds = ds;
    for (int w = 0; w < count; w++) {
      int writer = w;
      Thread t = new Thread(() -> run(writer), "interleaved-writer-" + w);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void run(int writer) {
    int seq = 0;
    while (running.get()) {
      Tx tx = new Tx(writer, seq);
      try (Connection c = ds.getConnection()) {
        c.setAutoCommit(false);
        tx.c = c;
        if (writer == 0) {
          longTransaction(tx);
        } else if (writer == 1 && ThreadLocalRandom.current().nextInt(3) == 0) {
          pairAroundACommit(tx);
        } else {
          switch (ThreadLocalRandom.current().nextInt(6)) {
            case 0 -> singleRow(tx);
            case 1, 2 -> statements(tx);
            case 3, 4 -> savepoints(tx);
            default -> rolledBackWhole(tx);
          }
        }
      } catch (SQLException | RuntimeException e) {
        // The connection broke: what was in hand may or may not have committed.
        uncertain.addAll(tx.pending);
        lastFailure = e;
      } catch (InterruptedException e) {
        uncertain.addAll(tx.pending);
        Thread.currentThread().interrupt();
        return;
      }
      seq = tx.seq;
      transactions.incrementAndGet();
      // Pacing of the load generator, not a wait for a condition.
      if (!pause(60, 250)) {
        return;
      }
    }
  }

  /** One transaction in the making: its connection and the ids it would commit. */
  private static final class Tx {
    final int writer;
    int seq;
    Connection c;
    final List<String> pending = new ArrayList<>();

    Tx(int writer, int seq) {
      this.writer = writer;
      this.seq = seq;
    }
  }

  private void singleRow(Tx tx) throws SQLException {
    insert(tx, 1);
    commit(tx);
  }

  /** 2 to 5 statements, single or multi-row, with short pauses so that others commit between. */
  private void statements(Tx tx) throws SQLException {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int n = 2 + r.nextInt(4);
    for (int i = 0; i < n; i++) {
      insert(tx, r.nextBoolean() ? 1 : 2 + r.nextInt(5));
      pause(2, 30);
    }
    commit(tx);
  }

  /** Rows before, inside and after a savepoint that is rolled back; a released one is kept. */
  private void savepoints(Tx tx) throws SQLException {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    insert(tx, 1 + r.nextInt(3));
    Savepoint sp = tx.c.setSavepoint();
    int keep = tx.pending.size();
    insert(tx, 1 + r.nextInt(5));
    pause(2, 30);
    insert(tx, 1);
    tx.c.rollback(sp);
    List<String> undone = new ArrayList<>(tx.pending.subList(keep, tx.pending.size()));
    tx.pending.subList(keep, tx.pending.size()).clear();
    rolledBack.addAll(undone);
    Savepoint kept = tx.c.setSavepoint();
    insert(tx, 1 + r.nextInt(3));
    tx.c.releaseSavepoint(kept);
    pause(2, 30);
    insert(tx, 1);
    commit(tx);
  }

  private void rolledBackWhole(Tx tx) throws SQLException {
    insert(tx, 1 + ThreadLocalRandom.current().nextInt(4));
    pause(2, 30);
    insert(tx, 1);
    tx.c.rollback();
    rolledBack.addAll(tx.pending);
    tx.pending.clear();
  }

  /**
   * The shape of issue 9 item 3, while the other writers wait: A writes a row, B writes one and
   * commits, A writes the WAL record right after B's commit record, then stays open for a random
   * 0.3 to 2.8 s (time for a relay to store B's commit as its offset, and for a kill to land) and
   * commits.
   */
  private void pairAroundACommit(Tx a) throws SQLException, InterruptedException {
    Tx b = new Tx(a.writer, a.seq);
    quiet.writeLock().lock();
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      b.c = c;
      insert(a, 1);
      insert(b, 1);
      commit(b);
      a.seq = b.seq;
      insert(a, 1);
      Thread.sleep(300 + ThreadLocalRandom.current().nextInt(2500));
      commit(a);
    } catch (SQLException | RuntimeException e) {
      uncertain.addAll(b.pending);
      throw e;
    } finally {
      quiet.writeLock().unlock();
    }
  }

  /** Open for 2 to 10 seconds, a row every 30 to 150 ms, across a hundred others' commits. */
  private void longTransaction(Tx tx) throws SQLException {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2000 + r.nextInt(8000));
    while (System.nanoTime() < until && running.get()) {
      insert(tx, r.nextInt(4) == 0 ? 2 + r.nextInt(5) : 1);
      pause(30, 150);
    }
    commit(tx);
  }

  private void insert(Tx tx, int rows) throws SQLException {
    StringBuilder sql =
        new StringBuilder(
            "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload)"
                + " VALUES ");
    for (int i = 0; i < rows; i++) {
      sql.append(i == 0 ? "" : ",").append("(?, 'meter', ?, 'ReadingRecorded', ?)");
    }
    List<String> ids = new ArrayList<>(rows);
    try (PreparedStatement ps = tx.c.prepareStatement(sql.toString())) {
      for (int i = 0; i < rows; i++) {
        java.util.UUID id = UuidV7.next();
        String aggregate = "w" + tx.writer + "-" + (tx.seq % 7);
        ps.setObject(i * 3 + 1, id);
        ps.setString(i * 3 + 2, aggregate);
        ps.setBytes(i * 3 + 3, OutboxLoad.payload(aggregate, tx.seq));
        ids.add(id.toString());
        tx.seq++;
      }
      tx.pending.addAll(ids);
      quiet.readLock().lock();
      try {
        ps.executeUpdate();
      } finally {
        quiet.readLock().unlock();
      }
    }
  }

  private void commit(Tx tx) throws SQLException {
    quiet.readLock().lock();
    try {
      tx.c.commit();
    } finally {
      quiet.readLock().unlock();
    }
    committed.addAll(tx.pending);
    tx.pending.clear();
  }

  /** Sleeps a random time in [min, max] ms; false when interrupted. */
  private static boolean pause(int min, int max) {
    try {
      TimeUnit.MILLISECONDS.sleep(min + ThreadLocalRandom.current().nextInt(max - min + 1));
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Stops the writers (the long transaction commits what it has); the committed ids. */
  List<String> stop() throws InterruptedException {
    running.set(false);
    for (Thread t : threads) {
      t.join(60_000);
    }
    return committed();
  }

  List<String> committed() {
    synchronized (committed) {
      return new ArrayList<>(committed);
    }
  }

  int committedSoFar() {
    return committed.size();
  }

  Set<String> rolledBack() {
    synchronized (rolledBack) {
      return new HashSet<>(rolledBack);
    }
  }

  Set<String> uncertain() {
    synchronized (uncertain) {
      return new HashSet<>(uncertain);
    }
  }

  long transactions() {
    return transactions.get();
  }

  /** The last write that failed, for test messages; null if none did. */
  Exception lastFailure() {
    return lastFailure;
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
