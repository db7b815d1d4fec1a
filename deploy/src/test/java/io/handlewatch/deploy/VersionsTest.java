package io.handlewatch.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * One version everywhere: the pom's is the one the programs print (build.properties), the packages
 * carry (jdeb's [[version]]) and the images in docker-compose and Kubernetes are tagged with. A
 * release changes the pom and these files together; this test names any it forgot.
 */
class VersionsTest {
  private static final Pattern OUR_IMAGE =
      Pattern.compile("image:\\s*\"?(handlewatch/[a-z-]+):(\\S+?)\"?\\s*$");

  /** The parent pom's version. */
  static String pomVersion() throws IOException {
    String pom = Files.readString(DeployFiles.ROOT.resolve("pom.xml"));
    Matcher m =
        Pattern.compile("<artifactId>handlewatch-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(pom);
    assertThat(m.find()).as("the parent pom's version").isTrue();
    return m.group(1);
  }

  /** The version dpkg sees: a -SNAPSHOT sorts before its release, as jdeb writes it. */
  static String debianVersion() throws IOException {
    return pomVersion().replace("-SNAPSHOT", "~SNAPSHOT");
  }

  @Test
  void everyModuleInheritsTheParentsVersion() throws IOException {
    String v = pomVersion();
    for (String module : List.of("proto", "agent", "collector", "deploy")) {
      String pom = Files.readString(DeployFiles.ROOT.resolve(module).resolve("pom.xml"));
      assertThat(pom)
          .as(module + "/pom.xml's parent version")
          .containsPattern(
              "<artifactId>handlewatch-parent</artifactId>\\s*<version>" + Pattern.quote(v) + "<");
    }
  }

  @Test
  void imagesInComposeAndKubernetesAreTaggedWithThePomVersion() throws IOException {
    String v = pomVersion();
    List<Path> files = new ArrayList<>(List.of(DeployFiles.DEPLOY.resolve("docker-compose.yml")));
    try (Stream<Path> k8s = Files.list(DeployFiles.DEPLOY.resolve("kubernetes"))) {
      k8s.filter(p -> p.toString().endsWith(".yaml")).sorted().forEach(files::add);
    }
    List<String> images = new ArrayList<>();
    for (Path f : files) {
      for (String line : Files.readAllLines(f)) {
        Matcher m = OUR_IMAGE.matcher(line.strip());
        if (m.find()) {
          images.add(m.group(1));
          assertThat(m.group(2))
              .as(
                  "%s: %s is tagged with the pom's version",
                  DeployFiles.ROOT.relativize(f), m.group(1))
              .isEqualTo(v);
        }
      }
    }
    // Both programs' images, in compose and in Kubernetes (the agent's twice: init and main).
    assertThat(images)
        .contains("handlewatch/agent", "handlewatch/collector")
        .hasSizeGreaterThanOrEqualTo(4);
  }

  @Test
  void packagesTakeTheirVersionFromThePom() throws IOException {
    for (String pkg : List.of("agent", "collector")) {
      String control = Files.readString(DeployFiles.DEPLOY.resolve("debian/" + pkg + "/control"));
      assertThat(control).as(pkg + " control").contains("\nVersion: [[version]]\n");
    }
  }
}
