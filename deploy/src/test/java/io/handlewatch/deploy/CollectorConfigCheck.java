package io.handlewatch.deploy;

import io.dropwizard.configuration.DefaultConfigurationFactoryFactory;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import io.handlewatch.collector.CollectorConfiguration;
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
            path -> new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), substitutor),
        name);
  }
}
