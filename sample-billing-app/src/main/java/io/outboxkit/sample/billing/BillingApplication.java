package io.outboxkit.sample.billing;

import io.micronaut.runtime.Micronaut;
import java.util.Arrays;

/**
 * Entry point of the billing service jar.
 *
 * <pre>
 * java -jar sample-billing-app.jar                     # the service (BILLING_PORT, BILLING_DB_URL,
 *                                                      #   BILLING_NATS_URL)
 * java -jar sample-billing-app.jar report --help       # the convergence check of the demo
 * </pre>
 */
public final class BillingApplication {
  private BillingApplication() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("report")) {
      System.exit(ConvergenceReport.run(Arrays.copyOfRange(args, 1, args.length)));
    }
    Micronaut.run(BillingApplication.class, args);
  }
}
