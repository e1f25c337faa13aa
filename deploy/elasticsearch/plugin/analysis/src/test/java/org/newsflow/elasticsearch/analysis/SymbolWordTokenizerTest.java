package org.newsflow.elasticsearch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.newsflow.elasticsearch.analysis.TestSupport.tokenize;
import static org.newsflow.elasticsearch.analysis.TestSupport.tokens;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class SymbolWordTokenizerTest {
  @Test
  void keepsSymbolWordsWhole() throws IOException {
    assertEquals(
        List.of("C++", "C#", "AT&T", "U.S.", "USB-C", "e-mail", "l'économie", "l'État", "X-ray"),
        tokenize("C++, C# (AT&T) U.S. USB-C e-mail l'économie l’État X‐ray"));
  }

  @Test
  void dropsSurroundingPunctuationEmojiAndLoneSymbols() throws IOException {
    assertEquals(
        List.of("trump", "said", "Johnson", "Johnson"),
        tokenize("trump 🚀 said. Johnson & Johnson!"));
    assertEquals(
        List.of("students", "MeToo", "user", "5", "20"), tokenize("students' #MeToo @user $5 20%"));
  }

  @Test
  void acronymsKeepTheirFinalDotOnlyWhenEveryPartIsOneLetter() throws IOException {
    assertEquals(
        List.of("U.S.", "led", "e.g.", "Ph.D", "U.S.A", "plan", "B"),
        tokenize("U.S.-led e.g. Ph.D. U.S.A plan B."));
  }

  @Test
  void numbersKeepThousandsSeparatorsAndDecimals() throws IOException {
    assertEquals(List.of("1,000", "3.5", "24/7", "COVID-19"), tokenize("1,000 3.5 24/7 COVID-19"));
    assertEquals(List.of("a", "b"), tokenize("a,b"));
  }

  @Test
  void ideographsAreSingleTokensKatakanaRunsWhole() throws IOException {
    assertEquals(List.of("東", "京", "タワー", "Tokyo"), tokenize("東京タワー Tokyo"));
  }

  @Test
  void foldsNothingAndKeepsCase() throws IOException {
    assertEquals(List.of("Weizsäcker", "Ölpreis"), tokenize("Weizsäcker Ölpreis"));
  }

  @Test
  void skipsOverlongTokensLeavingAPositionGap() throws IOException {
    String blob = "x".repeat(300);
    List<String[]> out = tokens("before " + blob + " after", new SymbolWordTokenizer(255), s -> s);
    assertEquals("before", out.get(0)[0]);
    assertEquals("after", out.get(1)[0]);
    assertEquals("2", out.get(1)[1]);
    assertThrows(IllegalArgumentException.class, () -> new SymbolWordTokenizer(0));
  }

  @Test
  void hostileInputTokenizesWithoutBacktracking() throws IOException {
    // Long runs of joiners, dots and letters: a backtracking pattern would never finish here.
    String hostile = "a-".repeat(200_000) + "a.b.".repeat(100_000) + "++++&&&&....".repeat(50_000);
    List<String> out = tokenize(hostile);
    // Everything glued is one overlong token, skipped; nothing else is a word.
    assertEquals(List.of(), out);
  }

  @Test
  void isReusableAcrossDocuments() throws IOException {
    SymbolWordTokenizer tokenizer = new SymbolWordTokenizer(255);
    assertEquals(List.of("one"), TestSupport.terms("one", tokenizer, s -> s));
    assertEquals(List.of("two", "three"), TestSupport.terms("two three", tokenizer, s -> s));
  }
}
