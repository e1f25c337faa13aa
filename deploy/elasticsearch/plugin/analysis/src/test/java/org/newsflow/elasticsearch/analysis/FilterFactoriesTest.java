package org.newsflow.elasticsearch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.newsflow.elasticsearch.analysis.TestSupport.settings;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.junit.jupiter.api.Test;

class FilterFactoriesTest {
  private static List<String> run(String text, Function<TokenStream, TokenStream> filters)
      throws IOException {
    return TestSupport.terms(text, new SymbolWordTokenizer(255), filters);
  }

  private static Set<String> set(String text, Function<TokenStream, TokenStream> filters)
      throws IOException {
    return new TreeSet<>(run(text, filters));
  }

  private static final WordDelimiterFactory INDEX_WD =
      new WordDelimiterFactory(settings(WordDelimiterFactory.Settings.class));
  private static final WordDelimiterFactory SPLIT_ALL_WD =
      new WordDelimiterFactory(
          settings(WordDelimiterFactory.Settings.class, Map.of("letter_chars", "")));

  private static Function<TokenStream, TokenStream> wd(WordDelimiterFactory f) {
    return s -> new LowerCaseFilter(f.create(s));
  }

  @Test
  void wordDelimiterKeepsOriginalPartsAndCatenations() throws IOException {
    assertEquals(Set.of("u.s.", "u", "s", "us"), set("U.S.", wd(INDEX_WD)));
    assertEquals(Set.of("usb-c", "usb", "c", "usbc"), set("USB-C", wd(INDEX_WD)));
    assertEquals(Set.of("e-mail", "e", "mail", "email"), set("e-mail", wd(INDEX_WD)));
    assertEquals(Set.of("1,000", "1", "000", "1000"), set("1,000", wd(INDEX_WD)));
    assertEquals(Set.of("covid-19", "covid", "19", "covid19"), set("COVID-19", wd(INDEX_WD)));
    assertEquals(Set.of("iphone"), set("iPhone", wd(INDEX_WD)));
    assertEquals(Set.of("g7"), set("G7", wd(INDEX_WD)));
  }

  @Test
  void wordDelimiterNeverSplitsSymbolWordsByDefault() throws IOException {
    assertEquals(List.of("c++"), run("C++", wd(INDEX_WD)));
    assertEquals(List.of("c#"), run("C#", wd(INDEX_WD)));
    assertEquals(List.of("at&t"), run("AT&T", wd(INDEX_WD)));
    assertEquals(Set.of("c++", "c"), set("C++", wd(SPLIT_ALL_WD)));
    assertEquals(Set.of("at&t", "at", "t", "att"), set("AT&T", wd(SPLIT_ALL_WD)));
  }

  @Test
  void wordDelimiterProtectedWordsAndBadLetterChars() throws IOException {
    WordDelimiterFactory f =
        new WordDelimiterFactory(
            settings(
                WordDelimiterFactory.Settings.class, Map.of("protected_words", List.of("wi-fi"))));
    assertEquals(List.of("wi-fi"), run("Wi-Fi", wd(f)));
    assertThrows(
        IllegalArgumentException.class, () -> WordDelimiterFactory.charTypes("x".repeat(33)));
    byte[] wide = WordDelimiterFactory.charTypes("\u2011");
    assertEquals(0x2012, wide.length);
  }

  @Test
  void foldingAndEnglish() throws IOException {
    FoldingFactory folding = new FoldingFactory(settings(FoldingFactory.Settings.class));
    assertEquals(
        List.of("weizsacker"), run("Weizsäcker", s -> folding.create(new LowerCaseFilter(s))));
    FoldingFactory keep =
        new FoldingFactory(
            settings(FoldingFactory.Settings.class, Map.of("preserve_original", true)));
    assertEquals(
        List.of("weizsacker", "weizsäcker"),
        run("Weizsäcker", s -> keep.create(new LowerCaseFilter(s))));
    EnglishPossessiveFactory possessive = new EnglishPossessiveFactory();
    KStemFactory kstem = new KStemFactory();
    assertEquals(
        List.of("trump", "election", "vote"),
        run(
            "Trump’s elections voted",
            s -> kstem.create(possessive.create(folding.create(new LowerCaseFilter(s))))));
  }

  @Test
  void frenchAndSpanish() throws IOException {
    FrenchElisionFactory elision =
        new FrenchElisionFactory(settings(FrenchElisionFactory.Settings.class));
    FrenchLightStemFactory fr = new FrenchLightStemFactory();
    assertEquals(
        List.of("économie", "état"),
        run("l'économie L’État", s -> new LowerCaseFilter(elision.create(s))));
    List<String> stems = run("économie économies", s -> fr.create(new LowerCaseFilter(s)));
    assertEquals(stems.get(0), stems.get(1));
    SpanishLightStemFactory es = new SpanishLightStemFactory();
    List<String> esStems = run("elecciones elección", s -> es.create(new LowerCaseFilter(s)));
    assertEquals(esStems.get(0), esStems.get(1));
  }

  @Test
  void edgeNGrams() throws IOException {
    EdgeNGramFactory f = new EdgeNGramFactory(settings(EdgeNGramFactory.Settings.class));
    assertEquals(List.of("tr", "tru", "trum", "trump"), run("trump", f::create));
    assertEquals(List.of(), run("a", f::create));
    EdgeNGramFactory keep =
        new EdgeNGramFactory(
            settings(
                EdgeNGramFactory.Settings.class, Map.of("min_gram", 3, "preserve_original", true)));
    assertEquals(List.of("a", "tru", "trum", "trump"), run("a trump", keep::create));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new EdgeNGramFactory(
                settings(EdgeNGramFactory.Settings.class, Map.of("min_gram", 5, "max_gram", 3))));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new EdgeNGramFactory(
                settings(EdgeNGramFactory.Settings.class, Map.of("max_gram", 10_000))));
  }

  @Test
  void synonyms() throws IOException {
    SynonymGraphFactory f =
        new SynonymGraphFactory(
            settings(
                SynonymGraphFactory.Settings.class,
                Map.of("synonyms", List.of("u.s., usa, united states", "NYC => new york city"))));
    Function<TokenStream, TokenStream> chain = s -> f.create(new LowerCaseFilter(s));
    assertEquals(Set.of("u.s.", "usa", "united", "states"), set("USA", chain));
    assertEquals(Set.of("new", "york", "city"), set("nyc", chain));
    assertEquals(List.of("plain", "words"), run("plain words", chain));
  }

  @Test
  void synonymsEmptyBadAndLenient() throws IOException {
    SynonymGraphFactory empty =
        new SynonymGraphFactory(settings(SynonymGraphFactory.Settings.class));
    assertEquals(List.of("x"), run("x", empty::create));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> SynonymGraphFactory.build(List.of("ok, fine", "&& => x"), true, false));
    assertTrue(e.getMessage().contains("&& => x"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> SynonymGraphFactory.build(List.of("a\nb => c"), true, false));
    SynonymGraphFactory.build(List.of("ok, fine", "&& => x"), true, true);
  }

  @Test
  void removeDuplicatesAndFlatten() throws IOException {
    RemoveDuplicatesFactory dedup = new RemoveDuplicatesFactory();
    KStemFactory kstem = new KStemFactory();
    EnglishPossessiveFactory possessive = new EnglishPossessiveFactory();
    FlattenGraphFactory flatten = new FlattenGraphFactory();
    List<String> out =
        run(
            "Trump's",
            s ->
                dedup.create(
                    kstem.create(
                        possessive.create(
                            new LowerCaseFilter(flatten.create(INDEX_WD.create(s)))))));
    assertEquals(List.of("trump"), out);
    // The typographic apostrophe too: the tokenizer hands the word delimiter an ASCII one.
    assertEquals(
        List.of("trump"),
        run(
            "Trump’s",
            s ->
                dedup.create(
                    kstem.create(
                        possessive.create(
                            new LowerCaseFilter(flatten.create(INDEX_WD.create(s))))))));
  }
}
