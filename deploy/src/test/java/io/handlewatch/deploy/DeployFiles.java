package io.handlewatch.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;

/** Where the deployment files are, and their YAML read as trees (every document of a file). */
final class DeployFiles {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path DEPLOY = ROOT.resolve("deploy");

  private static final ObjectMapper YAML = new YAMLMapper(new YAMLFactory());

  private DeployFiles() {}

  /** Every non-empty document of a (multi-document) YAML file. */
  static List<JsonNode> documents(Path file) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(file.toFile())) {
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc != null && !doc.isNull() && !doc.isEmpty()) docs.add(doc);
      }
    }
    return docs;
  }

  static JsonNode document(Path file) throws IOException {
    List<JsonNode> docs = documents(file);
    if (docs.size() != 1) throw new AssertionError(file + ": " + docs.size() + " documents");
    return docs.getFirst();
  }

  static JsonNode parseYaml(String text) throws IOException {
    return YAML.readTree(text);
  }

  static String toYaml(JsonNode tree) throws IOException {
    return YAML.writeValueAsString(tree);
  }

  /** The text values of an array node (a YAML list of strings). */
  static List<String> texts(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }
}
