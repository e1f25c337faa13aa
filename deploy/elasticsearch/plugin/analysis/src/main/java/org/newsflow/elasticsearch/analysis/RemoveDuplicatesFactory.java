package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * {@code newsflow_remove_duplicates}: Lucene's RemoveDuplicatesTokenFilter, drops a token equal to
 * one already at the same position. After stemming, the word delimiter's original and its parts
 * often collapse to one term ({@code Trump's} and {@code Trump}); keeping both would count the word
 * twice.
 */
@NamedComponent("newsflow_remove_duplicates")
public final class RemoveDuplicatesFactory implements TokenFilterFactory {
  @Override
  public TokenStream create(TokenStream input) {
    return new RemoveDuplicatesTokenFilter(input);
  }
}
