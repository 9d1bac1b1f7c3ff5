package io.outboxkit.relay;

/**
 * The rules that decide whether the relay may stream from its slot, given what PostgreSQL holds
 * (the slot), what the relay recorded when it first used the slot, and its stored offset. Pure: no
 * I/O, so every case has a unit test. Any doubt is a refusal naming what happened and the SQL to
 * reset, never a silent start from now.
 */
final class ResumeSafety {
  private ResumeSafety() {}

  /** The slot as PostgreSQL has it. */
  record Slot(String plugin, String database, String confirmedFlushLsn) {}

  /** What the relay recorded when it first used the slot. */
  record SlotRecord(String publication, boolean offsetsStored) {}

  /** The relay's stored offset: none, at an LSN, or rows that do not parse. */
  record Stored(String lsn, String corruption) {
    static Stored none() {
      return new Stored(null, null);
    }

    static Stored at(String lsn) {
      return new Stored(lsn, null);
    }

    static Stored corrupt(String message) {
      return new Stored(null, message);
    }
  }

  /** The names the rules talk about. */
  record Names(String slot, String database, String publication, String offsetsTable) {}

  /** What to do when the rules allow a start. */
  enum Decision {
    /** No slot, nothing recorded, no offset: the first start; create the slot. */
    CREATE_SLOT,
    /** A pgoutput slot the relay never recorded: take it over where it stands. */
    ADOPT_SLOT,
    /** The slot and the relay's records belong together: resume. */
    RESUME
  }

  /**
   * @param slot null when PostgreSQL has no such slot
   * @param record null when the relay never recorded the slot
   * @param stored the stored offset
   * @throws RelayException fatal, with the reason and the fix, when starting could skip events
   */
  static Decision decide(Names n, Slot slot, SlotRecord record, Stored stored) {
    if (stored.corruption() != null) {
      // Corrupt rows are never a reason to start from somewhere else.
      throw RelayException.fatal(stored.corruption());
    }
    String offsetLsn = stored.lsn();
    if (slot != null) {
      if (!"pgoutput".equals(slot.plugin())) {
        throw RelayException.fatal(
            "replication slot "
                + n.slot()
                + " uses plugin "
                + slot.plugin()
                + ", not pgoutput: give the relay its own slot (outboxkit.relay.slot-name), or drop"
                + " this one if nothing else uses it: SELECT pg_drop_replication_slot('"
                + n.slot()
                + "');");
      }
      if (!n.database().equals(slot.database())) {
        throw RelayException.fatal(
            "replication slot "
                + n.slot()
                + " belongs to database "
                + slot.database()
                + ", not "
                + n.database()
                + ": choose another outboxkit.relay.slot-name");
      }
    }
    if (record != null && !record.publication().equals(n.publication())) {
      throw RelayException.fatal(
          "replication slot "
              + n.slot()
              + " was used with publication "
              + record.publication()
              + ", and the relay is now set to publication "
              + n.publication()
              + ": switching publications on one slot can skip events; set"
              + " outboxkit.relay.publication-name="
              + record.publication()
              + " or use a new slot name");
    }
    if (slot == null && (record != null || offsetLsn != null)) {
      throw RelayException.fatal(
          "replication slot "
              + n.slot()
              + " is gone, but the relay streamed from it before"
              + (offsetLsn != null ? " (last committed offset at LSN " + offsetLsn + ")" : "")
              + ". It was dropped while the relay was down, so the WAL of events committed since"
              + " then may be gone and they cannot be relayed. The relay refuses to start from now"
              + " silently. Recover with `outboxkit relay reset` (it shows the gap, republishes the"
              + " rows still in the outbox table and resets, after --yes), or by hand: DELETE FROM "
              + n.offsetsTable()
              + " WHERE slot_name = '"
              + n.slot()
              + "'; DELETE FROM "
              + n.offsetsTable()
              + "_slots WHERE slot_name = '"
              + n.slot()
              + "';");
    }
    if (slot != null && record != null && record.offsetsStored() && offsetLsn == null) {
      throw RelayException.fatal(
          "the stored offsets of slot "
              + n.slot()
              + " in "
              + n.offsetsTable()
              + " are missing"
              + " (truncated?), though the relay has streamed from this slot before. The relay"
              + " will not guess where to resume. The slot still holds every event it has not"
              + " confirmed, so resuming from the slot is safe (JetStream drops replays inside its"
              + " duplicate window): run `outboxkit relay reset --yes`, or by hand: DELETE FROM "
              + n.offsetsTable()
              + "_slots WHERE slot_name = '"
              + n.slot()
              + "'; and start again.");
    }
    if (slot != null && offsetLsn != null && compareLsn(slot.confirmedFlushLsn(), offsetLsn) > 0) {
      throw RelayException.fatal(
          "replication slot "
              + n.slot()
              + " has confirmed LSN "
              + slot.confirmedFlushLsn()
              + ", past the relay's stored offset "
              + offsetLsn
              + ": it was recreated or advanced by"
              + " another client, so events in between would be skipped. Find who uses the slot;"
              + " then `outboxkit relay reset` shows the gap and republishes the rows still in the"
              + " outbox table, or accept the gap by hand: DELETE FROM "
              + n.offsetsTable()
              + " WHERE slot_name = '"
              + n.slot()
              + "';");
    }
    if (slot == null) {
      return Decision.CREATE_SLOT;
    }
    return record == null ? Decision.ADOPT_SLOT : Decision.RESUME;
  }

  static int compareLsn(String a, String b) {
    return Long.compareUnsigned(OffsetLsn.parse(a), OffsetLsn.parse(b));
  }
}
