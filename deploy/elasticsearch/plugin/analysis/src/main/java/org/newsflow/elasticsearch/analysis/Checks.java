package org.newsflow.elasticsearch.analysis;

/** Setting validation: a bad index setting must fail index creation with a clear message. */
final class Checks {
  private Checks() {}

  static int inRange(String setting, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "[" + setting + "] must be between " + min + " and " + max + ", got " + value);
    }
    return value;
  }
}
