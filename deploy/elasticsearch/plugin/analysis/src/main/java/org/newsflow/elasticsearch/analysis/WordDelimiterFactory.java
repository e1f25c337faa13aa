package org.newsflow.elasticsearch.analysis;

import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.CATENATE_ALL;
import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.CATENATE_NUMBERS;
import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.CATENATE_WORDS;
import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.GENERATE_NUMBER_PARTS;
import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.GENERATE_WORD_PARTS;
import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.PRESERVE_ORIGINAL;
import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.SPLIT_ON_CASE_CHANGE;
import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.SPLIT_ON_NUMERICS;
import static org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter.STEM_ENGLISH_POSSESSIVE;

import java.util.Arrays;
import java.util.List;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterIterator;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.ListSetting;
import org.elasticsearch.plugin.settings.StringSetting;

/**
 * {@code newsflow_word_delimiter}: Lucene's WordDelimiterGraphFilter, set up so symbol words stay
 * searchable both whole and by their parts.
 *
 * <p>Defaults: keep the original token ({@code u.s.}, {@code usb-c}, {@code e-mail}), also emit the
 * parts ({@code u}, {@code s}; {@code usb}, {@code c}; {@code e}, {@code mail}) and the catenations
 * ({@code us}, {@code usbc}, {@code email}, {@code 1000} from {@code 1,000}, {@code covid19} from
 * {@code COVID-19}), so every way of writing the word meets in the index. No split on case change
 * ({@code iPhone}, {@code McDonald} stay whole) or between letters and digits ({@code G7}, {@code
 * 5G}), which mostly creates noise in news.
 *
 * <p>{@code &}, {@code +} and {@code #} count as letters ({@code letter_chars}), so {@code C++},
 * {@code C#}, {@code AT&T}, {@code R&D} are never split: the query {@code C++} is the single term
 * {@code c++} and cannot match {@code USB-C} or "Path C" through a part {@code c}, {@code AT&T}
 * cannot match "an inverted T", and because index and query agree on one position for such a word,
 * phrases around it ("AT&T stock") still match. Set {@code "letter_chars": ""} to split on them.
 *
 * <p>The filter emits a token graph: an index-time analyzer must follow it with {@code
 * newsflow_flatten_graph}; a search-time analyzer must not (the match query turns the graph into
 * {@code usb-c | usbc | "usb c"}) and must not feed the graph into {@code newsflow_synonym_graph},
 * which cannot consume one.
 */
@NamedComponent("newsflow_word_delimiter")
public final class WordDelimiterFactory implements TokenFilterFactory {
  static final String DEFAULT_LETTER_CHARS = "&+#";

  /** Settings of {@code {"type": "newsflow_word_delimiter", ...}}. */
  @AnalysisSettings
  public interface Settings {
    @BooleanSetting(path = "preserve_original", defaultValue = true)
    boolean preserveOriginal();

    @BooleanSetting(path = "generate_word_parts", defaultValue = true)
    boolean generateWordParts();

    @BooleanSetting(path = "generate_number_parts", defaultValue = true)
    boolean generateNumberParts();

    @BooleanSetting(path = "catenate_words", defaultValue = true)
    boolean catenateWords();

    @BooleanSetting(path = "catenate_numbers", defaultValue = true)
    boolean catenateNumbers();

    @BooleanSetting(path = "catenate_all", defaultValue = true)
    boolean catenateAll();

    @BooleanSetting(path = "split_on_case_change", defaultValue = false)
    boolean splitOnCaseChange();

    @BooleanSetting(path = "split_on_numerics", defaultValue = false)
    boolean splitOnNumerics();

    @BooleanSetting(path = "stem_english_possessive", defaultValue = true)
    boolean stemEnglishPossessive();

    /** Characters treated as letters, never split on. */
    @StringSetting(path = "letter_chars", defaultValue = DEFAULT_LETTER_CHARS)
    String letterChars();

    /** Tokens never split, compared case-insensitively. */
    @ListSetting(path = "protected_words")
    List<String> protectedWords();

    /** Give parts their own offsets (precise highlighting). */
    @BooleanSetting(path = "adjust_offsets", defaultValue = true)
    boolean adjustOffsets();
  }

  private final int flags;
  private final byte[] charTypes;
  private final CharArraySet protectedWords;
  private final boolean adjustOffsets;

  @Inject
  public WordDelimiterFactory(Settings settings) {
    this.flags = flags(settings);
    this.charTypes = charTypes(settings.letterChars());
    this.protectedWords =
        settings.protectedWords().isEmpty()
            ? null
            : new CharArraySet(settings.protectedWords(), true);
    this.adjustOffsets = settings.adjustOffsets();
  }

  @Override
  public TokenStream create(TokenStream input) {
    return new WordDelimiterGraphFilter(input, adjustOffsets, charTypes, flags, protectedWords);
  }

  static int flags(Settings s) {
    int flags = 0;
    flags |= s.preserveOriginal() ? PRESERVE_ORIGINAL : 0;
    flags |= s.generateWordParts() ? GENERATE_WORD_PARTS : 0;
    flags |= s.generateNumberParts() ? GENERATE_NUMBER_PARTS : 0;
    flags |= s.catenateWords() ? CATENATE_WORDS : 0;
    flags |= s.catenateNumbers() ? CATENATE_NUMBERS : 0;
    flags |= s.catenateAll() ? CATENATE_ALL : 0;
    flags |= s.splitOnCaseChange() ? SPLIT_ON_CASE_CHANGE : 0;
    flags |= s.splitOnNumerics() ? SPLIT_ON_NUMERICS : 0;
    flags |= s.stemEnglishPossessive() ? STEM_ENGLISH_POSSESSIVE : 0;
    return flags;
  }

  /**
   * Lucene's default character table with the given characters typed as letters. The table covers
   * code points below its length, so it grows to include the highest one given (bounded: only a
   * handful of symbols make sense here).
   */
  static byte[] charTypes(String letterChars) {
    byte[] defaults = WordDelimiterIterator.DEFAULT_WORD_DELIM_TABLE;
    if (letterChars.isEmpty()) {
      return defaults;
    }
    int highest = letterChars.chars().max().orElse(0);
    if (highest > 0xFFFF || letterChars.length() > 32) {
      throw new IllegalArgumentException(
          "[letter_chars] takes up to 32 BMP characters, got [" + letterChars + "]");
    }
    byte[] table = Arrays.copyOf(defaults, Math.max(defaults.length, highest + 1));
    for (int c = defaults.length; c < table.length; c++) {
      table[c] = WordDelimiterIterator.getType(c);
    }
    for (char c : letterChars.toCharArray()) {
      table[c] = (byte) WordDelimiterIterator.ALPHA;
    }
    return table;
  }
}
