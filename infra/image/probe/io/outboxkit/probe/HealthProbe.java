package io.outboxkit.probe;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;

/**
 * The container images' health check command: the images (FROM scratch) have no shell and no curl,
 * so compose runs this class on the image's own Java runtime. infra/image/runtime.sh compiles it
 * into the runtime layer every outboxkit image shares ({@code /opt/outboxkit/probe}). Exit status 0
 * when the URL answers 200, 1 otherwise, 2 on a usage error.
 *
 * <pre>{@code
 * /opt/java/bin/java -Xmx8m -XX:TieredStopAtLevel=1 -cp /opt/outboxkit/probe \
 *     io.outboxkit.probe.HealthProbe http://127.0.0.1:8080/health/readiness
 * }</pre>
 */
public final class HealthProbe {
  private HealthProbe() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: HealthProbe <url>, e.g. http://127.0.0.1:8080/health/readiness");
      System.exit(2);
    }
    System.exit(ok(args[0]) ? 0 : 1);
  }

  static boolean ok(String url) {
    try {
      HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
      c.setConnectTimeout(2000);
      c.setReadTimeout(3000);
      try {
        int status = c.getResponseCode();
        if (status != 200) {
          System.err.println(url + " answered " + status);
        }
        return status == 200;
      } finally {
        c.disconnect();
      }
    } catch (IOException | IllegalArgumentException e) {
      System.err.println(url + " did not answer: " + e);
      return false;
    }
  }
}
