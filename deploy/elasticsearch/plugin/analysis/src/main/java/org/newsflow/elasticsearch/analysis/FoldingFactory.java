package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;

/**
 * {@code newsflow_folding}: Lucene's ASCIIFoldingFilter ({@code Weizsäcker} → {@code weizsacker},
 * {@code ’} → {@code '}, {@code ß} → {@code ss}). Also applied when Elasticsearch normalizes
 * wildcard, prefix and fuzzy terms, so {@code Weizs*} and {@code Weizsä*} find the same words.
 */
@NamedComponent("newsflow_folding")
public final class FoldingFactory implements TokenFilterFactory {
  /** Settings of {@code {"type": "newsflow_folding", ...}}. */
  @AnalysisSettings
  public interface Settings {
    /** Also keep the unfolded token (off: a folded field only needs the folded form). */
    @BooleanSetting(path = "preserve_original", defaultValue = false)
    boolean preserveOriginal();
  }

  private final boolean preserveOriginal;

  @Inject
  public FoldingFactory(Settings settings) {
    this.preserveOriginal = settings.preserveOriginal();
  }

  @Override
  public TokenStream create(TokenStream input) {
    return new ASCIIFoldingFilter(input, preserveOriginal);
  }

  @Override
  public TokenStream normalize(TokenStream input) {
    return new ASCIIFoldingFilter(input, false);
  }
}
