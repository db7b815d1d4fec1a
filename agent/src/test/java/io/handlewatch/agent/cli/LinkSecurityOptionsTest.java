package io.handlewatch.agent.cli;

import static io.handlewatch.agent.cli.RunCommandTest.errorOf;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `run`'s TLS and token options: each bad combination stops start-up naming the option. */
class LinkSecurityOptionsTest {
  @TempDir Path dir;

  private String[] run(String... more) {
    String[] base = {"run", "--collector", "127.0.0.1:9400", "--state-dir", dir.toString()};
    String[] all = new String[base.length + more.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  private Path file(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  @Test
  void certificateOptionsNeedTls() throws Exception {
    Path ca = file("ca.crt", "x");
    assertThat(errorOf(run("--ca-cert", ca.toString()))).contains("--ca-cert needs --tls");
    assertThat(errorOf(run("--server-name", "collector"))).contains("--server-name needs --tls");
    assertThat(errorOf(run("--tls", "--client-cert", ca.toString())))
        .contains("--client-cert needs --client-key");
    assertThat(errorOf(run("--tls", "--client-key", ca.toString())))
        .contains("--client-key needs --client-cert");
  }

  @Test
  void unreadableOrBrokenFilesAreNamed() throws Exception {
    assertThat(errorOf(run("--tls", "--ca-cert", dir.resolve("missing.crt").toString())))
        .contains("--ca-cert: cannot read");
    Path garbage = file("garbage.crt", "-----BEGIN CERTIFICATE-----\nnot base64!\n");
    assertThat(errorOf(run("--tls", "--ca-cert", garbage.toString())))
        .contains("--ca-cert: cannot load");
    Path empty = file("empty.token", "\n  \n");
    assertThat(errorOf(run("--tls", "--token-file", empty.toString())))
        .contains("--token-file")
        .contains("holds no token");
  }

  @Test
  void aTokenIsNotSentInTheClearUnlessAllowedOnLoopback() throws Exception {
    Path token = file("agent.token", "token-0123456789abcdef\n");
    assertThat(errorOf(run("--token-file", token.toString())))
        .contains("--token-file")
        .contains("--tls");
    assertThat(
            errorOf(
                "run",
                "--collector",
                "10.0.0.5:9400",
                "--state-dir",
                dir.toString(),
                "--token-file",
                token.toString(),
                "--allow-plaintext-token"))
        .contains("--allow-plaintext-token: only for a collector on loopback");
    assertThat(errorOf(run("--allow-plaintext-token"))).contains("needs --token-file");
  }

  @Test
  void theOptionsComeFromTheConfigFileToo() throws Exception {
    Path props =
        file(
            "agent.properties",
            "collector=127.0.0.1:9400\ntls=true\nca-cert="
                + dir.resolve("nope.crt")
                + "\nstate-dir="
                + dir
                + "\n");
    assertThat(errorOf("run", "--config", props.toString())).contains("--ca-cert: cannot read");
  }
}
