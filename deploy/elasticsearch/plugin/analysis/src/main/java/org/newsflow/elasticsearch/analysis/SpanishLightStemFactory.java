package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.es.SpanishLightStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * {@code newsflow_spanish_light_stem}: Lucene's SpanishLightStemFilter (plurals and gender endings;
 * also strips accents). Expects lowercase input.
 */
@NamedComponent("newsflow_spanish_light_stem")
public final class SpanishLightStemFactory implements TokenFilterFactory {
  @Override
  public TokenStream create(TokenStream input) {
    return new SpanishLightStemFilter(input);
  }
}
