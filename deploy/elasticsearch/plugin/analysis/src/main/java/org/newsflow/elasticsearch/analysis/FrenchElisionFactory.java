package org.newsflow.elasticsearch.analysis;

import java.util.List;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.util.ElisionFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.ListSetting;

/**
 * {@code newsflow_french_elision}: Lucene's ElisionFilter with French articles ({@code l'économie}
 * and {@code l’économie} → {@code économie}; {@code qu'il} → {@code il}). Case-insensitive, so it
 * can run before lowercasing, and it must run before the word delimiter, which would otherwise
 * split the apostrophe into {@code l} + {@code économie} + {@code léconomie}.
 */
@NamedComponent("newsflow_french_elision")
public final class FrenchElisionFactory implements TokenFilterFactory {
  /** Settings of {@code {"type": "newsflow_french_elision", ...}}. */
  @AnalysisSettings
  public interface Settings {
    /** The elided words; empty means Lucene's French list (l, m, t, qu, n, s, j, d, c, jusqu…). */
    @ListSetting(path = "articles")
    List<String> articles();
  }

  private final CharArraySet articles;

  @Inject
  public FrenchElisionFactory(Settings settings) {
    List<String> configured = settings.articles();
    this.articles =
        configured.isEmpty()
            ? FrenchAnalyzer.DEFAULT_ARTICLES
            : CharArraySet.unmodifiableSet(new CharArraySet(configured, true));
  }

  @Override
  public TokenStream create(TokenStream input) {
    return new ElisionFilter(input, articles);
  }

  @Override
  public TokenStream normalize(TokenStream input) {
    return new ElisionFilter(input, articles);
  }
}
