package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.IntSetting;

/**
 * {@code newsflow_edge_ngram}: Lucene's EdgeNGramTokenFilter, the prefixes of each token ({@code
 * trump} → {@code tr}, {@code tru}, {@code trum}, {@code trump}), for an index-time "prefix"
 * analyzer so a partly typed last word ({@code Trum}) matches with a plain term query.
 */
@NamedComponent("newsflow_edge_ngram")
public final class EdgeNGramFactory implements TokenFilterFactory {
  /** Larger grams only grow the index: nobody types 50 letters of a word and stops. */
  static final int MAX_GRAM_LIMIT = 50;

  /** Settings of {@code {"type": "newsflow_edge_ngram", ...}}. */
  @AnalysisSettings
  public interface Settings {
    @IntSetting(path = "min_gram", defaultValue = 2)
    int minGram();

    @IntSetting(path = "max_gram", defaultValue = 15)
    int maxGram();

    /** Also keep tokens shorter than min_gram or longer than max_gram whole. */
    @BooleanSetting(path = "preserve_original", defaultValue = false)
    boolean preserveOriginal();
  }

  private final int minGram;
  private final int maxGram;
  private final boolean preserveOriginal;

  @Inject
  public EdgeNGramFactory(Settings settings) {
    this.minGram = Checks.inRange("min_gram", settings.minGram(), 1, MAX_GRAM_LIMIT);
    this.maxGram = Checks.inRange("max_gram", settings.maxGram(), minGram, MAX_GRAM_LIMIT);
    this.preserveOriginal = settings.preserveOriginal();
  }

  @Override
  public TokenStream create(TokenStream input) {
    return new EdgeNGramTokenFilter(input, minGram, maxGram, preserveOriginal);
  }
}
