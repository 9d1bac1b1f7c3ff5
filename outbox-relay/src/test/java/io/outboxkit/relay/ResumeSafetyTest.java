package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.relay.ResumeSafety.Decision;
import io.outboxkit.relay.ResumeSafety.Names;
import io.outboxkit.relay.ResumeSafety.Slot;
import io.outboxkit.relay.ResumeSafety.SlotRecord;
import io.outboxkit.relay.ResumeSafety.Stored;
import org.junit.jupiter.api.Test;

class ResumeSafetyTest {
  private static final Names N = new Names("s1", "shop", "pub1", "outboxkit.relay_offsets");
  private static final Slot SLOT = new Slot("pgoutput", "shop", "0/3000000");
  private static final SlotRecord USED = new SlotRecord("pub1", true);
  private static final SlotRecord NEW = new SlotRecord("pub1", false);

  private static RelayException refused(Slot slot, SlotRecord record, Stored stored) {
    try {
      ResumeSafety.decide(N, slot, record, stored);
    } catch (RelayException e) {
      assertThat(e.isFatal()).isTrue();
      return e;
    }
    throw new AssertionError("not refused");
  }

  @Test
  void firstStartCreatesTheSlot() {
    assertThat(ResumeSafety.decide(N, null, null, Stored.none())).isEqualTo(Decision.CREATE_SLOT);
  }

  @Test
  void aSlotNeverRecordedIsAdopted() {
    assertThat(ResumeSafety.decide(N, SLOT, null, Stored.none())).isEqualTo(Decision.ADOPT_SLOT);
  }

  @Test
  void aRecordedSlotWithOffsetsAtOrBehindItResumes() {
    assertThat(ResumeSafety.decide(N, SLOT, USED, Stored.at("0/3000000")))
        .isEqualTo(Decision.RESUME);
    assertThat(ResumeSafety.decide(N, SLOT, USED, Stored.at("0/3000100")))
        .isEqualTo(Decision.RESUME);
    // Recorded, no offset stored yet (killed before the first batch): the slot holds everything.
    assertThat(ResumeSafety.decide(N, SLOT, NEW, Stored.none())).isEqualTo(Decision.RESUME);
  }

  @Test
  void slotGoneAfterStreamingIsRefusedWithTheReset() {
    assertThat(refused(null, USED, Stored.at("0/2000000")).getMessage())
        .contains("slot s1 is gone")
        .contains("last committed offset at LSN 0/2000000")
        .contains("DELETE FROM outboxkit.relay_offsets WHERE slot_name = 's1'")
        .contains("DELETE FROM outboxkit.relay_offsets_slots WHERE slot_name = 's1'");
    assertThat(refused(null, NEW, Stored.none()).getMessage()).contains("slot s1 is gone");
    assertThat(refused(null, null, Stored.at("0/2000000")).getMessage())
        .contains("slot s1 is gone");
  }

  @Test
  void offsetsMissingAfterStreamingAreRefused() {
    assertThat(refused(SLOT, USED, Stored.none()).getMessage())
        .contains("stored offsets of slot s1")
        .contains("are missing")
        .contains("DELETE FROM outboxkit.relay_offsets_slots WHERE slot_name = 's1'");
  }

  @Test
  void slotAheadOfTheStoredOffsetIsRefused() {
    assertThat(refused(SLOT, USED, Stored.at("0/2FFFFFF")).getMessage())
        .contains("confirmed LSN 0/3000000, past the relay's stored offset 0/2FFFFFF")
        .contains("DELETE FROM outboxkit.relay_offsets WHERE slot_name = 's1'");
    // Compared as unsigned 64-bit numbers, not as text: 0/A0000000 is past 0/9FFFFFFF.
    assertThat(
            refused(new Slot("pgoutput", "shop", "0/A0000000"), USED, Stored.at("0/9FFFFFFF"))
                .getMessage())
        .contains("past the relay's stored offset");
    assertThat(
            ResumeSafety.decide(
                N, new Slot("pgoutput", "shop", "FFFFFFFF/0"), USED, Stored.at("FFFFFFFF/1")))
        .isEqualTo(Decision.RESUME);
  }

  @Test
  void corruptOffsetsAreRefusedWhateverElseHolds() {
    assertThat(refused(SLOT, USED, Stored.corrupt("offset row of s1 is not JSON")).getMessage())
        .isEqualTo("offset row of s1 is not JSON");
    assertThat(refused(null, null, Stored.corrupt("bad")).getMessage()).isEqualTo("bad");
  }

  @Test
  void aSlotOfAnotherPluginOrDatabaseIsRefused() {
    assertThat(refused(new Slot("test_decoding", "shop", "0/1"), null, Stored.none()).getMessage())
        .contains("uses plugin test_decoding, not pgoutput")
        .contains("pg_drop_replication_slot('s1')");
    assertThat(refused(new Slot("pgoutput", "other", "0/1"), null, Stored.none()).getMessage())
        .contains("belongs to database other, not shop");
  }

  @Test
  void aSlotUsedWithAnotherPublicationIsRefused() {
    assertThatThrownBy(
            () ->
                ResumeSafety.decide(N, SLOT, new SlotRecord("pub0", true), Stored.at("0/3000000")))
        .hasMessageContaining("was used with publication pub0")
        .hasMessageContaining("outboxkit.relay.publication-name=pub0");
  }
}
