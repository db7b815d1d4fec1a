package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.testing.RealPrograms;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The packaged collector names its version and commit: {@code --version} (and Dropwizard's own
 * {@code -v}) print the pom's version, never "No application version detected".
 */
class CollectorVersionIT {
  @Test
  void printsThePomVersionAndTheCommit() throws Exception {
    String version = RealPrograms.pomVersion();
    for (String flag : new String[] {"--version", "-v"}) {
      var run = RealPrograms.runCollectorJar(flag);
      assertThat(run.getKey()).as(run.getValue()).isZero();
      assertThat(run.getValue().strip())
          .as(flag)
          .matches(
              "handlewatch-collector "
                  + Pattern.quote(version)
                  + " \\(commit [0-9a-f]{7,40}(-dirty)?\\)");
    }
  }

  @Test
  void theJarManifestCarriesTheVersionForDropwizard() throws Exception {
    try (var jar = new java.util.jar.JarFile(RealPrograms.COLLECTOR_JAR.toFile())) {
      assertThat(jar.getManifest().getMainAttributes().getValue("Implementation-Version"))
          .isEqualTo(RealPrograms.pomVersion());
    }
  }
}
