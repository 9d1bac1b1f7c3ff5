package io.outboxkit.patterns.reconcile;

import java.util.ArrayList;
import java.util.List;

/** The counts of one run as it goes; confined to the thread doing the run. */
final class Tally {
  int windows;
  int windowsSkipped;
  long keysCompared;
  int repaired;
  int failed;
  final List<String> errors = new ArrayList<>();

  String error() {
    return errors.isEmpty() ? null : String.join("; ", errors);
  }
}
