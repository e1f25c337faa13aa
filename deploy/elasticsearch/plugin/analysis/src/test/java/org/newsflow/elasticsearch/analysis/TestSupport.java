package org.newsflow.elasticsearch.analysis;

import java.io.IOException;
import java.io.StringReader;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.analysis.tokenattributes.PositionIncrementAttribute;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.IntSetting;
import org.elasticsearch.plugin.settings.ListSetting;
import org.elasticsearch.plugin.settings.StringSetting;

/** Runs analysis chains in-process and fakes the settings proxies Elasticsearch injects. */
final class TestSupport {
  private TestSupport() {}

  /** A settings interface answering its annotation defaults unless overridden by path. */
  static <T> T settings(Class<T> type, Map<String, Object> overrides) {
    Object proxy =
        Proxy.newProxyInstance(
            type.getClassLoader(),
            new Class<?>[] {type},
            (self, method, args) -> {
              String path = path(method);
              return overrides.containsKey(path) ? overrides.get(path) : defaultOf(method);
            });
    return type.cast(proxy);
  }

  static <T> T settings(Class<T> type) {
    return settings(type, Map.of());
  }

  private static String path(Method m) {
    if (m.isAnnotationPresent(IntSetting.class)) return m.getAnnotation(IntSetting.class).path();
    if (m.isAnnotationPresent(BooleanSetting.class))
      return m.getAnnotation(BooleanSetting.class).path();
    if (m.isAnnotationPresent(StringSetting.class))
      return m.getAnnotation(StringSetting.class).path();
    if (m.isAnnotationPresent(ListSetting.class)) return m.getAnnotation(ListSetting.class).path();
    throw new AssertionError("no setting annotation on " + m);
  }

  private static Object defaultOf(Method m) {
    if (m.isAnnotationPresent(IntSetting.class))
      return m.getAnnotation(IntSetting.class).defaultValue();
    if (m.isAnnotationPresent(BooleanSetting.class))
      return m.getAnnotation(BooleanSetting.class).defaultValue();
    if (m.isAnnotationPresent(StringSetting.class))
      return m.getAnnotation(StringSetting.class).defaultValue();
    return List.of();
  }

  /** The terms of {@code text} through the tokenizer and filters. */
  static List<String> terms(
      String text, Tokenizer tokenizer, Function<TokenStream, TokenStream> filters)
      throws IOException {
    List<String> out = new ArrayList<>();
    for (String[] t : tokens(text, tokenizer, filters)) {
      out.add(t[0]);
    }
    return out;
  }

  /** [term, position] pairs. */
  static List<String[]> tokens(
      String text, Tokenizer tokenizer, Function<TokenStream, TokenStream> filters)
      throws IOException {
    tokenizer.setReader(new StringReader(text));
    List<String[]> out = new ArrayList<>();
    try (TokenStream stream = filters.apply(tokenizer)) {
      CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
      PositionIncrementAttribute posInc = stream.addAttribute(PositionIncrementAttribute.class);
      stream.reset();
      int position = -1;
      while (stream.incrementToken()) {
        position += posInc.getPositionIncrement();
        out.add(new String[] {term.toString(), Integer.toString(position)});
      }
      stream.end();
    }
    return out;
  }

  static List<String> tokenize(String text) throws IOException {
    return terms(
        text, new SymbolWordTokenizer(SymbolWordTokenizer.DEFAULT_MAX_TOKEN_LENGTH), s -> s);
  }
}
