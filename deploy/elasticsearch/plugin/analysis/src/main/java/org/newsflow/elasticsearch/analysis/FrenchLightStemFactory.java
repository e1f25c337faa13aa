package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.fr.FrenchLightStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * {@code newsflow_french_light_stem}: Lucene's FrenchLightStemFilter (Savoy's light stemmer:
 * plurals, feminine forms; also strips accents). Expects lowercase input.
 */
@NamedComponent("newsflow_french_light_stem")
public final class FrenchLightStemFactory implements TokenFilterFactory {
  @Override
  public TokenStream create(TokenStream input) {
    return new FrenchLightStemFilter(input);
  }
}
