package org.newsflow.elasticsearch.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.StandardLocation;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles small plugins with the processor. The Elasticsearch annotations are stubbed in source
 * under their real names: the processor only matches names, as javac sees them.
 */
class NamedComponentsProcessorTest {
  private static final Map<String, String> API =
      Map.of(
          "org.elasticsearch.plugin.NamedComponent",
          "package org.elasticsearch.plugin; import java.lang.annotation.*;"
              + " @Retention(RetentionPolicy.RUNTIME) @Target(ElementType.TYPE)"
              + " public @interface NamedComponent { String value(); }",
          "org.elasticsearch.plugin.Extensible",
          "package org.elasticsearch.plugin; import java.lang.annotation.*;"
              + " @Retention(RetentionPolicy.RUNTIME) @Target(ElementType.TYPE)"
              + " public @interface Extensible {}",
          "api.Filter",
          "package api; public interface Filter extends Named {}",
          "api.Named",
          "package api; @org.elasticsearch.plugin.Extensible public interface Named {}");

  @TempDir Path out;

  private record Result(boolean ok, String diagnostics, Path json) {}

  private Result compile(Map<String, String> sources) throws IOException {
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    List<JavaFileObject> units = new ArrayList<>();
    Map<String, String> all = new java.util.HashMap<>(API);
    all.putAll(sources);
    all.forEach((name, code) -> units.add(source(name, code)));
    StringWriter diagnostics = new StringWriter();
    try (StandardJavaFileManager files = javac.getStandardFileManager(null, null, null)) {
      files.setLocation(StandardLocation.CLASS_OUTPUT, List.of(out.toFile()));
      JavaCompiler.CompilationTask task =
          javac.getTask(diagnostics, files, null, List.of("-proc:only"), null, units);
      task.setProcessors(List.of(new NamedComponentsProcessor()));
      boolean ok = task.call();
      return new Result(
          ok, diagnostics.toString(), out.resolve(NamedComponentsProcessor.FILE_NAME));
    }
  }

  private static JavaFileObject source(String className, String code) {
    return new SimpleJavaFileObject(
        java.net.URI.create("string:///" + className.replace('.', '/') + ".java"),
        JavaFileObject.Kind.SOURCE) {
      @Override
      public CharSequence getCharContent(boolean ignoreEncodingErrors) {
        return code;
      }
    };
  }

  @Test
  void writesComponentsUnderTheirExtensibleInterfaceSorted() throws IOException {
    Result r =
        compile(
            Map.of(
                "p.B",
                "package p; @org.elasticsearch.plugin.NamedComponent(\"b\") public class B"
                    + " implements api.Filter {}",
                "p.A",
                "package p; public class A { @org.elasticsearch.plugin.NamedComponent(\"a\") public"
                    + " static class Inner implements api.Filter { public Inner(int x) {} } }"));
    assertTrue(r.ok(), r.diagnostics());
    assertEquals(
        "{\n  \"api.Named\": {\n    \"a\": \"p.A$Inner\",\n    \"b\": \"p.B\"\n  }\n}\n",
        Files.readString(r.json()));
  }

  @Test
  void refusesDuplicateNames() throws IOException {
    Result r =
        compile(
            Map.of(
                "p.A",
                    "package p; @org.elasticsearch.plugin.NamedComponent(\"x\") public class A"
                        + " implements api.Filter {}",
                "p.B",
                    "package p; @org.elasticsearch.plugin.NamedComponent(\"x\") public class B"
                        + " implements api.Filter {}"));
    assertFalse(r.ok());
    assertTrue(r.diagnostics().contains("component name [x] is already used"), r.diagnostics());
    assertFalse(Files.exists(r.json()));
  }

  @Test
  void refusesComponentsElasticsearchCannotInstantiate() throws IOException {
    Result r =
        compile(
            Map.of(
                "p.A",
                "package p; @org.elasticsearch.plugin.NamedComponent(\"a\") class A implements"
                    + " api.Filter {}",
                "p.B",
                "package p; @org.elasticsearch.plugin.NamedComponent(\"b\") public class B"
                    + " implements api.Filter { public B() {} public B(int x) {} }",
                "p.C",
                "package p; @org.elasticsearch.plugin.NamedComponent(\"c\") public class C {}"));
    assertFalse(r.ok());
    assertTrue(r.diagnostics().contains("must be a public, non-abstract class"), r.diagnostics());
    assertTrue(
        r.diagnostics().contains("exactly one public constructor, found 2"), r.diagnostics());
    assertTrue(
        r.diagnostics().contains("exactly one @Extensible interface, found []"), r.diagnostics());
  }

  @Test
  void jsonEscapesQuotes() {
    assertEquals(
        "{\n  \"i\": {\n    \"a\\\"b\": \"c\\\\d\"\n  }\n}\n",
        NamedComponentsProcessor.toJson(Map.of("i", Map.of("a\"b", "c\\d"))));
  }
}
