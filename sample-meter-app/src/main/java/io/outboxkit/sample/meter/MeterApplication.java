package io.outboxkit.sample.meter;

import io.micronaut.runtime.Micronaut;
import java.util.Arrays;

/**
 * Entry point of the meter service jar.
 *
 * <pre>
 * java -jar sample-meter-app.jar                       # the HTTP service (METER_PORT, METER_DB_URL)
 * java -jar sample-meter-app.jar simulate --help       # the load simulator
 * </pre>
 */
public final class MeterApplication {
  private MeterApplication() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("simulate")) {
      System.exit(Simulator.run(Arrays.copyOfRange(args, 1, args.length)));
    }
    Micronaut.run(MeterApplication.class, args);
  }
}
