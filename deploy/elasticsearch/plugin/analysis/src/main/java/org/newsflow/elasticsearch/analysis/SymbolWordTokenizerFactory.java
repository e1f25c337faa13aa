package org.newsflow.elasticsearch.analysis;

import org.apache.lucene.analysis.Tokenizer;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenizerFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.IntSetting;

/** {@code newsflow_tokenizer}: words that keep their symbols; see {@link SymbolWordTokenizer}. */
@NamedComponent("newsflow_tokenizer")
public final class SymbolWordTokenizerFactory implements TokenizerFactory {
  /** Upper bound for max_token_length: Lucene refuses terms over 32766 UTF-8 bytes. */
  static final int MAX_TOKEN_LENGTH_LIMIT = 1024;

  /** Settings of {@code {"type": "newsflow_tokenizer", ...}}. */
  @AnalysisSettings
  public interface Settings {
    @IntSetting(
        path = "max_token_length",
        defaultValue = SymbolWordTokenizer.DEFAULT_MAX_TOKEN_LENGTH)
    int maxTokenLength();
  }

  private final int maxTokenLength;

  @Inject
  public SymbolWordTokenizerFactory(Settings settings) {
    this.maxTokenLength =
        Checks.inRange("max_token_length", settings.maxTokenLength(), 1, MAX_TOKEN_LENGTH_LIMIT);
  }

  @Override
  public Tokenizer create() {
    return new SymbolWordTokenizer(maxTokenLength);
  }
}
