package org.newsflow.elasticsearch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The file the annotation processor wrote lists every component, under the right interface. */
class NamedComponentsTest {
  @Test
  void listsEveryComponent() throws IOException {
    String json;
    try (InputStream in = getClass().getResourceAsStream("/named_components.json")) {
      assertNotNull(in, "named_components.json was not generated");
      json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Map<String, String> names = new TreeMap<>();
    Matcher m = Pattern.compile("\"(newsflow_\\w+)\": \"([\\w.$]+)\"").matcher(json);
    while (m.find()) {
      names.put(m.group(1), m.group(2));
    }
    String pkg = "org.newsflow.elasticsearch.analysis.";
    Map<String, String> expected = new TreeMap<>();
    expected.put("newsflow_tokenizer", pkg + "SymbolWordTokenizerFactory");
    expected.put("newsflow_folding", pkg + "FoldingFactory");
    expected.put("newsflow_word_delimiter", pkg + "WordDelimiterFactory");
    expected.put("newsflow_flatten_graph", pkg + "FlattenGraphFactory");
    expected.put("newsflow_remove_duplicates", pkg + "RemoveDuplicatesFactory");
    expected.put("newsflow_english_possessive", pkg + "EnglishPossessiveFactory");
    expected.put("newsflow_kstem", pkg + "KStemFactory");
    expected.put("newsflow_french_elision", pkg + "FrenchElisionFactory");
    expected.put("newsflow_french_light_stem", pkg + "FrenchLightStemFactory");
    expected.put("newsflow_spanish_light_stem", pkg + "SpanishLightStemFactory");
    expected.put("newsflow_edge_ngram", pkg + "EdgeNGramFactory");
    expected.put("newsflow_synonym_graph", pkg + "SynonymGraphFactory");
    assertEquals(expected, names);
    int tokenizers = json.indexOf("\"org.elasticsearch.plugin.analysis.TokenizerFactory\"");
    int filters = json.indexOf("\"org.elasticsearch.plugin.analysis.TokenFilterFactory\"");
    // Sorted: TokenFilterFactory's block first, the tokenizer in the TokenizerFactory block.
    assertEquals(true, filters >= 0 && tokenizers > filters, json);
    assertEquals(true, json.indexOf("\"newsflow_tokenizer\"") > tokenizers, json);
  }
}
