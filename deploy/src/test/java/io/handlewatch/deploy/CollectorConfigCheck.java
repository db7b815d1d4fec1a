package io.handlewatch.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dropwizard.configuration.DefaultConfigurationFactoryFactory;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.ingest.IngestServerFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.commons.text.StringSubstitutor;
import org.apache.commons.text.lookup.StringLookupFactory;

/**
 * A collector configuration shipped in a deployment file, loaded and validated the way {@code
 * handlewatch-collector check} does it (YAML, ${VAR:-default} substitution, Bean Validation), with
 * the environment the deployment gives the container rather than this JVM's.
 */
final class CollectorConfigCheck {
  private CollectorConfigCheck() {}

  /**
   * The validated configuration.
   *
   * @throws io.dropwizard.configuration.ConfigurationException naming every bad key
   */
  static CollectorConfiguration validate(String name, String yaml, Map<String, String> env)
      throws Exception {
    String text = withoutSectionsThisBuildLacks(name, yaml);
    StringSubstitutor substitutor =
        new StringSubstitutor(StringLookupFactory.INSTANCE.mapStringLookup(env));
    // As the collector does: an unset variable without a default is an error, not "".
    substitutor.setEnableUndefinedVariableException(true);
    // The factory `check` and `server` use: it, unlike a bare YamlConfigurationFactory, fails on
    // an unknown key.
    var factory =
        new DefaultConfigurationFactoryFactory<CollectorConfiguration>()
            .create(
                CollectorConfiguration.class,
                Validators.newValidator(),
                Jackson.newObjectMapper(),
                "dw");
    return factory.build(
        new SubstitutingSourceProvider(
            path -> new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), substitutor),
        name);
  }

  /**
   * The deployment files are written for TLS and agent authentication (ingest.tls, ingest.auth),
   * which arrive on another branch. Until this build's collector has them they are left out of the
   * check, and said so; once it does, they are validated like every other key.
   */
  private static String withoutSectionsThisBuildLacks(String name, String yaml) throws Exception {
    JsonNode tree = DeployFiles.parseYaml(yaml);
    boolean changed = false;
    if (tree.get("ingest") instanceof ObjectNode ingest) {
      for (String section : new String[] {"tls", "auth"}) {
        if (ingest.has(section) && !declares(IngestServerFactory.class, section)) {
          ingest.remove(section);
          changed = true;
          System.err.println(
              name + ": ingest." + section + " not checked: this build's collector lacks it");
        }
      }
    }
    return changed ? DeployFiles.toYaml(tree) : yaml;
  }

  private static boolean declares(Class<?> type, String field) {
    try {
      type.getField(field);
      return true;
    } catch (NoSuchFieldException e) {
      return false;
    }
  }
}
