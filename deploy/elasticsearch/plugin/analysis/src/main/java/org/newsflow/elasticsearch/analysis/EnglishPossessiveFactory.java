package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * {@code newsflow_english_possessive}: Lucene's EnglishPossessiveFilter, drops a trailing {@code
 * 's} / {@code ’s} ({@code Trump's} → {@code Trump}).
 */
@NamedComponent("newsflow_english_possessive")
public final class EnglishPossessiveFactory implements TokenFilterFactory {
  @Override
  public TokenStream create(TokenStream input) {
    return new EnglishPossessiveFilter(input);
  }
}
