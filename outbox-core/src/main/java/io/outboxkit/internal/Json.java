package io.outboxkit.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * The library's default Jackson mapper, shared by the outbox writer and the consumer so that what
 * one writes the other reads. Not API: public only so that both packages can reach it.
 */
public final class Json {
  private static final ObjectMapper DEFAULT =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private Json() {}

  /**
   * The default mapper: Java time module, ISO-8601 dates, unknown properties ignored. Shared; do
   * not reconfigure it.
   */
  public static ObjectMapper defaultMapper() {
    return DEFAULT;
  }
}
