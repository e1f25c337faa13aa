package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.core.FlattenGraphFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * {@code newsflow_flatten_graph}: Lucene's FlattenGraphFilter. Put it after {@code
 * newsflow_word_delimiter} (or {@code newsflow_synonym_graph}) in an index-time analyzer: the index
 * cannot store token graphs, and without flattening, multi-position tokens break phrase queries.
 */
@NamedComponent("newsflow_flatten_graph")
public final class FlattenGraphFactory implements TokenFilterFactory {
  @Override
  public TokenStream create(TokenStream input) {
    return new FlattenGraphFilter(input);
  }
}
