package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.KStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * {@code newsflow_kstem}: Lucene's KStemFilter, a conservative English stemmer that returns real
 * words ({@code elections} → {@code election}, {@code voted} → {@code vote}). Expects lowercase
 * input.
 */
@NamedComponent("newsflow_kstem")
public final class KStemFactory implements TokenFilterFactory {
  @Override
  public TokenStream create(TokenStream input) {
    return new KStemFilter(input);
  }
}
