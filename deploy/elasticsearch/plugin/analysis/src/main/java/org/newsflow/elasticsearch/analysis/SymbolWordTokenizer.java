package org.newsflow.elasticsearch.analysis;

import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.analysis.tokenattributes.OffsetAttribute;
import org.apache.lucene.analysis.tokenattributes.PositionIncrementAttribute;

/**
 * Splits text into words the way a reader sees them, keeping the joining symbols that carry meaning
 * in news text: {@code C++}, {@code C#}, {@code AT&T}, {@code U.S.}, {@code USB-C}, {@code e-mail},
 * {@code l'économie}, {@code 1,000}, {@code 3.5}. Typographic apostrophes and hyphens inside a
 * token are written as ASCII ({@code l’État} → {@code l'État}).
 *
 * <p>Why not Lucene's StandardTokenizer: its Unicode word-break rules drop {@code +} and {@code &}
 * ({@code C++} becomes {@code c}, {@code AT&T} becomes {@code at}, {@code t}) and split on hyphens,
 * so no later filter can get the symbol back. Why not the whitespace tokenizer: it glues
 * punctuation to words ({@code said.}, {@code (AT&T)}, {@code Trump,}) and keeps emoji as tokens.
 * Here a token is a run of letters/digits, optionally joined by single inner symbols ({@code - & '
 * ’ . @ / _ +} and a comma between digits), optionally followed by {@code +}/{@code #}; letters
 * each followed by a dot ({@code U.S.}, {@code e.g.}) keep their final dot. Everything else
 * (spaces, punctuation, emoji, currency signs) separates tokens. The word delimiter filter then
 * decides how such tokens are also split (see {@link WordDelimiterFactory}).
 *
 * <p>Han and Hiragana characters become one token each and Katakana runs one token, as with
 * StandardTokenizer, so text without spaces still yields searchable terms.
 *
 * <p>Tokens longer than {@code maxTokenLength} characters (base64 blobs, hostile input) are
 * skipped, leaving a position gap, because Lucene rejects terms over 32 KiB and such strings are
 * not searchable words anyway. Like Lucene's PatternTokenizer it reads the whole field value into
 * memory before matching; Newsflow bounds article size upstream.
 */
public final class SymbolWordTokenizer extends Tokenizer {
  /** Letters, combining marks and digits, except the scripts written without spaces. */
  private static final String WORD =
      "[\\p{L}\\p{M}\\p{N}&&[^\\p{IsHan}\\p{IsHiragana}\\p{IsKatakana}]]";

  private static final String JOINER = "[-&'.@/_+\\u2019\\u02BC\\u2010\\u2011]";

  /** {@code U.S.}, {@code e.g.}, {@code a.m.}: one-letter parts each with a dot, final dot kept. */
  private static final String ACRONYM = "(?:\\p{L}\\.){2,}+(?!" + WORD + ")";

  /** A word, joined to more words ({@code AT&T}, {@code 1,000}), then {@code ++}/{@code #}. */
  private static final String JOINED_WORD =
      WORD + "++(?:" + JOINER + WORD + "++|(?<=\\p{Nd}),\\p{Nd}++)*+[+#]*+";

  private static final String IDEOGRAPH_OR_KANA = "[\\p{IsHan}\\p{IsHiragana}]";

  private static final String KATAKANA_WORD = "[\\p{IsKatakana}\\u30FC]++";

  /**
   * Possessive quantifiers everywhere: the classes on either side of each quantifier are disjoint,
   * so no backtracking is ever needed and matching stays linear on hostile input.
   */
  static final Pattern TOKEN =
      Pattern.compile(String.join("|", ACRONYM, JOINED_WORD, IDEOGRAPH_OR_KANA, KATAKANA_WORD));

  public static final int DEFAULT_MAX_TOKEN_LENGTH = 255;

  private final CharTermAttribute termAtt = addAttribute(CharTermAttribute.class);
  private final OffsetAttribute offsetAtt = addAttribute(OffsetAttribute.class);
  private final PositionIncrementAttribute posIncAtt =
      addAttribute(PositionIncrementAttribute.class);

  private final int maxTokenLength;
  private final StringBuilder text = new StringBuilder();
  private final char[] buffer = new char[8192];
  private final Matcher matcher = TOKEN.matcher("");
  private int skippedPositions;

  public SymbolWordTokenizer(int maxTokenLength) {
    if (maxTokenLength < 1) {
      throw new IllegalArgumentException(
          "max_token_length must be at least 1, got " + maxTokenLength);
    }
    this.maxTokenLength = maxTokenLength;
  }

  @Override
  public boolean incrementToken() {
    clearAttributes();
    while (matcher.find()) {
      int start = matcher.start();
      int end = matcher.end();
      if (end - start > maxTokenLength) {
        skippedPositions++;
        continue;
      }
      termAtt.setEmpty().append(text, start, end);
      asciiJoiners(termAtt.buffer(), termAtt.length());
      offsetAtt.setOffset(correctOffset(start), correctOffset(end));
      posIncAtt.setPositionIncrement(skippedPositions + 1);
      skippedPositions = 0;
      return true;
    }
    return false;
  }

  /**
   * Typographic apostrophes and hyphens inside a token become {@code '} and {@code -} (same length,
   * so offsets stay exact): the possessive and word-delimiter logic only knows the ASCII forms, and
   * {@code Trump’s} must analyze like {@code Trump's}.
   */
  static void asciiJoiners(char[] term, int length) {
    for (int i = 0; i < length; i++) {
      char c = term[i];
      if (c == '\u2019' || c == '\u02BC') {
        term[i] = '\'';
      } else if (c == '\u2010' || c == '\u2011') {
        term[i] = '-';
      }
    }
  }

  @Override
  public void end() throws IOException {
    super.end();
    int finalOffset = correctOffset(text.length());
    offsetAtt.setOffset(finalOffset, finalOffset);
    // Long tokens skipped at the very end still count, as in StandardTokenizer.
    posIncAtt.setPositionIncrement(posIncAtt.getPositionIncrement() + skippedPositions);
  }

  @Override
  public void reset() throws IOException {
    super.reset();
    text.setLength(0);
    int read;
    while ((read = input.read(buffer)) != -1) {
      text.append(buffer, 0, read);
    }
    matcher.reset(text);
    skippedPositions = 0;
  }

  @Override
  public void close() throws IOException {
    super.close();
    // Do not keep a large article's characters alive in a reused tokenizer.
    text.setLength(0);
    if (text.capacity() > 1 << 16) {
      text.trimToSize();
    }
    matcher.reset("");
  }
}
