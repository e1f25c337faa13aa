package org.newsflow.elasticsearch.processor;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.annotation.processing.SupportedAnnotationTypes;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.TypeElement;
import javax.lang.model.type.DeclaredType;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;
import javax.tools.Diagnostic;
import javax.tools.FileObject;
import javax.tools.StandardLocation;

/**
 * Writes {@code named_components.json} into the class output while javac compiles a stable
 * Elasticsearch plugin.
 *
 * <p>Elasticsearch reads that file from the installed plugin's folder to learn which classes
 * implement which extension point under which name: {@code {"<@Extensible interface>": {"<name>":
 * "<class>"}}}. Its Gradle plugin produces it by running {@code
 * org.elasticsearch.plugin.scanner.NamedComponentScanner} over the compiled classes, but that
 * scanner is published only inside the Elasticsearch distribution (lib/tools/plugin-cli), not on
 * Maven Central. This processor computes the same map from the source: every class annotated
 * {@code @NamedComponent("name")}, keyed by the supertype annotated {@code @Extensible}. Working
 * from annotation names (not classes) keeps it free of any Elasticsearch dependency.
 *
 * <p>It also fails the compilation on mistakes Elasticsearch would only report when the node
 * starts: two components with one name, a component that is not a public concrete class with
 * exactly one public constructor, or one that implements no {@code @Extensible} interface.
 */
@SupportedAnnotationTypes(NamedComponentsProcessor.NAMED_COMPONENT)
public final class NamedComponentsProcessor extends AbstractProcessor {
  static final String NAMED_COMPONENT = "org.elasticsearch.plugin.NamedComponent";
  static final String EXTENSIBLE = "org.elasticsearch.plugin.Extensible";
  static final String FILE_NAME = "named_components.json";

  /** extensible interface -> component name -> binary class name, sorted for a stable file. */
  private final Map<String, Map<String, String>> components = new TreeMap<>();

  private boolean failed;

  @Override
  public SourceVersion getSupportedSourceVersion() {
    return SourceVersion.latestSupported();
  }

  @Override
  public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
    TypeElement named = processingEnv.getElementUtils().getTypeElement(NAMED_COMPONENT);
    if (named != null) {
      for (Element element : round.getElementsAnnotatedWith(named)) {
        record(element);
      }
    }
    if (round.processingOver() && !failed) {
      write();
    }
    return false;
  }

  private void record(Element element) {
    if (element.getKind() != ElementKind.CLASS) {
      error(element, "@NamedComponent belongs on a class");
      return;
    }
    TypeElement type = (TypeElement) element;
    String name = componentName(type);
    if (name == null || name.isEmpty()) {
      error(type, "@NamedComponent needs a non-empty name");
      return;
    }
    checkInstantiable(type);
    Set<String> extensibles = extensiblesOf(type);
    if (extensibles.size() != 1) {
      error(
          type,
          "a named component must implement exactly one @Extensible interface, found "
              + extensibles);
      return;
    }
    String binaryName = processingEnv.getElementUtils().getBinaryName(type).toString();
    Map<String, String> byName =
        components.computeIfAbsent(extensibles.iterator().next(), k -> new TreeMap<>());
    String previous = byName.putIfAbsent(name, binaryName);
    if (previous != null && !previous.equals(binaryName)) {
      error(type, "component name [" + name + "] is already used by " + previous);
    }
  }

  private static String componentName(TypeElement type) {
    for (AnnotationMirror mirror : type.getAnnotationMirrors()) {
      if (qualifiedName(mirror.getAnnotationType()).equals(NAMED_COMPONENT)) {
        for (Map.Entry<? extends ExecutableElement, ? extends AnnotationValue> e :
            mirror.getElementValues().entrySet()) {
          if (e.getKey().getSimpleName().contentEquals("value")) {
            return String.valueOf(e.getValue().getValue());
          }
        }
      }
    }
    return null;
  }

  /** Elasticsearch instantiates a component through its single public constructor. */
  private void checkInstantiable(TypeElement type) {
    Set<Modifier> modifiers = type.getModifiers();
    if (!modifiers.contains(Modifier.PUBLIC) || modifiers.contains(Modifier.ABSTRACT)) {
      error(type, "a named component must be a public, non-abstract class");
    }
    if (type.getNestingKind().isNested() && !modifiers.contains(Modifier.STATIC)) {
      error(type, "a nested named component must be static");
    }
    long publicConstructors =
        type.getEnclosedElements().stream()
            .filter(e -> e.getKind() == ElementKind.CONSTRUCTOR)
            .filter(e -> e.getModifiers().contains(Modifier.PUBLIC))
            .count();
    if (publicConstructors != 1) {
      error(
          type,
          "a named component must have exactly one public constructor, found "
              + publicConstructors);
    }
  }

  /** Every supertype (transitively) whose declaration carries @Extensible. */
  private Set<String> extensiblesOf(TypeElement type) {
    Set<String> found = new TreeSet<>();
    Set<String> seen = new HashSet<>();
    Deque<TypeMirror> todo =
        new ArrayDeque<>(processingEnv.getTypeUtils().directSupertypes(type.asType()));
    while (!todo.isEmpty()) {
      TypeMirror mirror = todo.pop();
      if (mirror.getKind() != TypeKind.DECLARED) {
        continue;
      }
      TypeElement superType = (TypeElement) ((DeclaredType) mirror).asElement();
      String name = superType.getQualifiedName().toString();
      if (!seen.add(name)) {
        continue;
      }
      boolean extensible =
          superType.getAnnotationMirrors().stream()
              .anyMatch(a -> qualifiedName(a.getAnnotationType()).equals(EXTENSIBLE));
      if (extensible) {
        found.add(name);
      }
      todo.addAll(processingEnv.getTypeUtils().directSupertypes(mirror));
    }
    return found;
  }

  private static String qualifiedName(DeclaredType type) {
    return ((TypeElement) type.asElement()).getQualifiedName().toString();
  }

  private void write() {
    try {
      FileObject file =
          processingEnv.getFiler().createResource(StandardLocation.CLASS_OUTPUT, "", FILE_NAME);
      try (Writer out = file.openWriter()) {
        out.write(toJson(components));
      }
    } catch (IOException e) {
      processingEnv
          .getMessager()
          .printMessage(Diagnostic.Kind.ERROR, "cannot write " + FILE_NAME + ": " + e);
    }
  }

  /** The same shape NamedComponentScanner writes, pretty-printed and sorted. */
  static String toJson(Map<String, Map<String, String>> components) {
    StringBuilder json = new StringBuilder("{");
    String outerSep = "\n";
    for (Map.Entry<String, Map<String, String>> extensible : components.entrySet()) {
      json.append(outerSep).append("  ").append(quote(extensible.getKey())).append(": {");
      String innerSep = "\n";
      for (Map.Entry<String, String> component : extensible.getValue().entrySet()) {
        json.append(innerSep)
            .append("    ")
            .append(quote(component.getKey()))
            .append(": ")
            .append(quote(component.getValue()));
        innerSep = ",\n";
      }
      json.append("\n  }");
      outerSep = ",\n";
    }
    return json.append("\n}\n").toString();
  }

  private static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  private void error(Element element, String message) {
    failed = true;
    processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, message, element);
  }
}
