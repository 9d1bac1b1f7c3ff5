package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.impl.Headers;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class HeaderValuesTest {

  @Property(tries = 2000)
  void anyTextSurvivesTheRoundTripAndNatsAcceptsTheEncodedForm(@ForAll("text") String value) {
    String encoded = HeaderValues.encode(value);
    assertThat(HeaderValues.decode(encoded)).isEqualTo(value);
    // jnats refuses characters above 127 and CR/LF: the encoded form must never contain them.
    new Headers().put("X-Value", encoded);
    assertThat(encoded).doesNotContain("\r", "\n");
    assertThat(encoded.chars().allMatch(c -> c >= 0x20 && c <= 0x7E)).isTrue();
    assertThat(encoded).doesNotStartWith(" ").doesNotEndWith(" ");
  }

  @Property(tries = 500)
  void plainAsciiIsSentUnchanged(@ForAll @StringLength(min = 1, max = 80) String any) {
    String value =
        any.chars()
            .map(c -> 0x21 + Math.floorMod(c, 0x7E - 0x21 + 1))
            .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
            .toString();
    if (value.startsWith(HeaderValues.MARKER)) {
      return;
    }
    assertThat(HeaderValues.encode(value)).isSameAs(value);
  }

  @Provide
  Arbitrary<String> text() {
    // Any Unicode scalar value (no lone surrogates: text from PostgreSQL is valid UTF-8).
    Arbitrary<String> unicode =
        Arbitraries.integers()
            .between(1, Character.MAX_CODE_POINT)
            .filter(cp -> cp < Character.MIN_SURROGATE || cp > Character.MAX_SURROGATE)
            .list()
            .ofMaxSize(60)
            .map(
                cps -> {
                  StringBuilder sb = new StringBuilder();
                  cps.forEach(sb::appendCodePoint);
                  return sb.toString();
                });
    Arbitrary<String> tricky =
        Arbitraries.of(
            "",
            " ",
            " leading",
            "trailing ",
            "Zählerstand",
            "line\r\nbreak",
            "tab\there",
            "100%",
            "%C3%A4",
            HeaderValues.MARKER,
            HeaderValues.MARKER + "Z%C3%BCrich",
            "e\u0301",
            "🚀⚡",
            "\u0007bell\u001f");
    return Arbitraries.oneOf(unicode, tricky, Arbitraries.strings().ascii().ofMaxLength(40));
  }

  @Test
  void examples() {
    assertThat(HeaderValues.encode("Zürich")).isEqualTo("UTF-8''Z%C3%BCrich");
    assertThat(HeaderValues.encode("a b")).isEqualTo("a b");
    assertThat(HeaderValues.encode(" a")).isEqualTo("UTF-8''%20a");
    assertThat(HeaderValues.encode("")).isEqualTo("UTF-8''");
    assertThat(HeaderValues.encode("UTF-8''x")).isEqualTo("UTF-8''UTF-8''x");
    assertThat(HeaderValues.decode("UTF-8''UTF-8''x")).isEqualTo("UTF-8''x");
    assertThat(HeaderValues.decode("plain")).isEqualTo("plain");
    assertThat(HeaderValues.decode("UTF-8''%zz")).isEqualTo("UTF-8''%zz");
    assertThat(HeaderValues.decode(null)).isNull();
  }

  @Test
  void shortenedValuesStillDecode() {
    String long1 = "Fehler in Zählerstand für Straße ".repeat(100) + "🚀".repeat(100);
    String cut = HeaderValues.encodeAtMost(long1, 1000);
    assertThat(cut.length()).isLessThanOrEqualTo(1000);
    assertThat(HeaderValues.decode(cut)).endsWith("...");
    assertThat(long1).startsWith(HeaderValues.decode(cut).replace("...", ""));
  }
}
