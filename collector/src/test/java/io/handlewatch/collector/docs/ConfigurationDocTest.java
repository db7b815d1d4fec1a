package io.handlewatch.collector.docs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.AnnotatedClass;
import com.fasterxml.jackson.databind.introspect.AnnotatedClassResolver;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.jsontype.NamedType;
import io.dropwizard.jackson.Jackson;
import io.handlewatch.collector.CollectorConfiguration;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md names every key of the collector's YAML and no key the collector does not
 * read. The keys come from Jackson's own view of {@link CollectorConfiguration} (the mapper
 * Dropwizard parses the file with, subtypes of {@code store:} and {@code notifiers:} included), so
 * a key added to a factory without a line in the document fails here, and so does a line left
 * behind by a removed key. Dropwizard's own sections ({@code server}, {@code logging}, ...) are
 * named as sections only.
 */
class ConfigurationDocTest {
  static final Path DOC = Path.of("..", "docs", "configuration.md");

  /** A key's row: the first cell of a table row in the collector part, in backticks. */
  static final Pattern ROW = Pattern.compile("^\\| `([^`]+)` \\|");

  @Test
  void everyCollectorKeyIsDocumentedAndEveryDocumentedKeyExists() throws Exception {
    Set<String> code = collectorKeys();
    Set<String> doc = documentedKeys();
    assertThat(code)
        .as("keys the collector reads")
        .hasSizeGreaterThan(50)
        .contains("ingest.port", "store.type", "notifiers[].type");
    Set<String> missing = new TreeSet<>(code);
    missing.removeAll(doc);
    Set<String> unknown = new TreeSet<>(doc);
    unknown.removeAll(code);
    assertThat(missing).as("collector keys without a row in %s", DOC).isEmpty();
    assertThat(unknown).as("rows of %s naming no collector key", DOC).isEmpty();
  }

  /** The rows of the collector part: from "## Collector" to the next "## " heading. */
  static Set<String> documentedKeys() throws Exception {
    Set<String> keys = new TreeSet<>();
    boolean inCollector = false;
    for (String line : Files.readAllLines(DOC)) {
      if (line.startsWith("## ")) inCollector = line.startsWith("## Collector");
      if (!inCollector) continue;
      Matcher m = ROW.matcher(line);
      if (m.find()) keys.add(m.group(1));
    }
    return keys;
  }

  /** Every key as a dotted path; list elements as {@code name[].key}. */
  static Set<String> collectorKeys() {
    ObjectMapper mapper = Jackson.newObjectMapper();
    DeserializationConfig config = mapper.getDeserializationConfig();
    Set<String> keys = new TreeSet<>();
    walk(mapper, config, config.constructType(CollectorConfiguration.class), "", keys);
    return keys;
  }

  private static void walk(
      ObjectMapper mapper,
      DeserializationConfig config,
      JavaType type,
      String prefix,
      Set<String> out) {
    for (Class<?> c : concreteTypes(mapper, config, type, prefix, out)) {
      BeanDescription bean = config.introspect(config.constructType(c));
      for (BeanPropertyDefinition p : bean.findProperties()) {
        if (!p.couldDeserialize()) continue;
        String key = prefix + p.getName();
        JavaType t = p.getPrimaryType();
        if (t.isContainerType() && !t.isMapLikeType() && ours(t.getContentType())) {
          out.add(key);
          walk(mapper, config, t.getContentType(), key + "[].", out);
        } else if (ours(t) && !t.isEnumType()) {
          out.add(key);
          walk(mapper, config, t, key + ".", out);
        } else {
          out.add(key);
        }
      }
    }
  }

  /** The type itself, or for a {@code type:}-discriminated interface every registered subtype. */
  private static List<Class<?>> concreteTypes(
      ObjectMapper mapper,
      DeserializationConfig config,
      JavaType type,
      String prefix,
      Set<String> out) {
    Class<?> raw = type.getRawClass();
    if (!raw.isInterface() && !Modifier.isAbstract(raw.getModifiers())) return List.of(raw);
    // The discriminator is a key of the section too, though no property of any class.
    out.add(prefix + "type");
    AnnotatedClass ac = AnnotatedClassResolver.resolveWithoutSuperTypes(config, raw);
    List<Class<?>> types = new ArrayList<>();
    for (NamedType n : mapper.getSubtypeResolver().collectAndResolveSubtypesByClass(config, ac)) {
      Class<?> c = n.getType();
      if (!c.isInterface() && !Modifier.isAbstract(c.getModifiers())) types.add(c);
    }
    assertThat(types).as("implementations of %s", raw).isNotEmpty();
    return types;
  }

  private static boolean ours(JavaType t) {
    return t.getRawClass().getName().startsWith("io.handlewatch.");
  }
}
