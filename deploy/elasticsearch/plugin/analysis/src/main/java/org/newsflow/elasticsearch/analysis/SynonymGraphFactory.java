package org.newsflow.elasticsearch.analysis;

import java.io.IOException;
import java.io.StringReader;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.synonym.SolrSynonymParser;
import org.apache.lucene.analysis.synonym.SynonymGraphFilter;
import org.apache.lucene.analysis.synonym.SynonymMap;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.ListSetting;

/**
 * {@code newsflow_synonym_graph}: Lucene's SynonymGraphFilter over rules given inline, in the Solr
 * format Elasticsearch uses ({@code "u.s., usa, united states"} or {@code "nyc => new york city"}).
 *
 * <p>Rules come from the {@code synonyms} list setting only: the stable plugin API hands a
 * component nothing but its own settings (int, long, boolean, string and list values; no
 * Environment, config path or file access), so a {@code synonyms_path} cannot be offered.
 *
 * <p>Unlike Elasticsearch's built-in filter, which analyzes rules with the analyzer's own preceding
 * chain, the stable API does not expose that chain: the rules are analyzed with {@code
 * newsflow_tokenizer} + lowercase + ASCII folding. Place this filter after {@code lowercase} and
 * {@code newsflow_folding} and before any stemmer, in a chain whose input is not a graph (no {@code
 * newsflow_word_delimiter} before it unless followed by {@code newsflow_flatten_graph}).
 */
@NamedComponent("newsflow_synonym_graph")
public final class SynonymGraphFactory implements TokenFilterFactory {
  /** A bound on rules kept inline in index settings (they are copied into the cluster state). */
  static final int MAX_RULES = 10_000;

  /** Settings of {@code {"type": "newsflow_synonym_graph", ...}}. */
  @AnalysisSettings
  public interface Settings {
    @ListSetting(path = "synonyms")
    List<String> synonyms();

    /** {@code a, b, c} maps each to all (true) or all to the first (false). */
    @BooleanSetting(path = "expand", defaultValue = true)
    boolean expand();

    /** Skip rules that cannot be parsed instead of failing the index creation. */
    @BooleanSetting(path = "lenient", defaultValue = false)
    boolean lenient();
  }

  private final SynonymMap map;

  @Inject
  public SynonymGraphFactory(Settings settings) {
    this.map = build(settings.synonyms(), settings.expand(), settings.lenient());
  }

  @Override
  public TokenStream create(TokenStream input) {
    // An empty map has no FST; SynonymGraphFilter refuses it, and there is nothing to do anyway.
    return map.fst == null ? input : new SynonymGraphFilter(input, map, false);
  }

  /** Parses the rules; a bad rule fails with its text unless lenient (then it is skipped). */
  static SynonymMap build(List<String> rules, boolean expand, boolean lenient) {
    if (rules.size() > MAX_RULES) {
      throw new IllegalArgumentException(
          "[synonyms] takes at most " + MAX_RULES + " rules, got " + rules.size());
    }
    try (Analyzer analyzer = ruleAnalyzer()) {
      List<String> accepted = new ArrayList<>(rules.size());
      for (String rule : rules) {
        if (rule.indexOf('\n') >= 0 || rule.indexOf('\r') >= 0) {
          reject(rule, "one rule per list entry", lenient);
          continue;
        }
        try {
          parse(List.of(rule), expand, analyzer);
          accepted.add(rule);
        } catch (ParseException | IllegalArgumentException e) {
          reject(rule, causeOf(e), lenient);
        }
      }
      return parse(accepted, expand, analyzer);
    } catch (IOException | ParseException e) {
      throw new IllegalArgumentException("[synonyms] could not be parsed: " + causeOf(e), e);
    }
  }

  private static SynonymMap parse(List<String> rules, boolean expand, Analyzer analyzer)
      throws IOException, ParseException {
    SolrSynonymParser parser = new SolrSynonymParser(true, expand, analyzer);
    parser.parse(new StringReader(String.join("\n", rules)));
    return parser.build();
  }

  private static void reject(String rule, String why, boolean lenient) {
    if (!lenient) {
      throw new IllegalArgumentException("invalid synonym rule [" + rule + "]: " + why);
    }
  }

  private static String causeOf(Exception e) {
    Throwable cause = e.getCause() != null ? e.getCause() : e;
    return String.valueOf(cause.getMessage());
  }

  /** How rule words are turned into terms: the same form the chain has at this filter. */
  static Analyzer ruleAnalyzer() {
    return new Analyzer() {
      @Override
      protected TokenStreamComponents createComponents(String fieldName) {
        Tokenizer tokenizer = new SymbolWordTokenizer(SymbolWordTokenizer.DEFAULT_MAX_TOKEN_LENGTH);
        TokenStream stream = new ASCIIFoldingFilter(new LowerCaseFilter(tokenizer));
        return new TokenStreamComponents(tokenizer, stream);
      }
    };
  }
}
