package io.handlewatch.agent.launch;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSigner;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * The class loader the command line is parsed in ({@link Main}): it defines picocli's classes and
 * the commands' ({@code io.handlewatch.agent.cli}) itself, child-first, from the jar (or classes
 * directory) the application's class loader has them in, and leaves every other class to that
 * loader. So what a command builds for the daemon (its settings, sampler and runtime) is made of
 * the application loader's classes, and this loader and all it defined can be unloaded once
 * dropped.
 */
final class CliClassLoader extends ClassLoader implements AutoCloseable {
  /** The packages defined here, each with a class file that tells where they are. */
  private static final String[][] OWN = {
    {"io.handlewatch.agent.cli.", "io/handlewatch/agent/cli/AgentMain.class"},
    {"picocli.", "picocli/CommandLine.class"}
  };

  /** A jar or a classes directory. */
  private record Source(Path root, JarFile jar, ProtectionDomain domain) {
    byte[] read(String file) throws IOException {
      if (jar == null) {
        Path p = root.resolve(file);
        return Files.isRegularFile(p) ? Files.readAllBytes(p) : null;
      }
      JarEntry entry = jar.getJarEntry(file);
      if (entry == null) return null;
      try (InputStream in = jar.getInputStream(entry)) {
        return in.readAllBytes();
      }
    }
  }

  private final List<Source> sources = new ArrayList<>();

  private CliClassLoader(ClassLoader parent) {
    super("handlewatch-cli", parent);
  }

  /**
   * A loader of the command line's classes over where {@code parent} has them: one jar in the
   * runtime (the JDK shares its central directory with the parent's handle), which {@link #close}
   * closes again.
   */
  static CliClassLoader over(ClassLoader parent) throws IOException {
    CliClassLoader loader = new CliClassLoader(parent);
    try {
      for (String[] own : OWN) {
        URL marker = parent.getResource(own[1]);
        if (marker == null) throw new IOException(own[1] + " is not on the class path");
        Path root = rootOf(marker, own[1]);
        if (!loader.has(root)) loader.sources.add(loader.open(root));
      }
    } catch (IOException | RuntimeException e) {
      loader.close();
      throw e;
    }
    return loader;
  }

  /** The jar or directory that {@code url}, a class file named {@code file}, comes from. */
  private static Path rootOf(URL url, String file) throws IOException {
    try {
      if (url.getProtocol().equals("jar")) {
        String path = url.getPath(); // file:/x/agent.jar!/picocli/CommandLine.class
        return Path.of(new URI(path.substring(0, path.lastIndexOf("!/"))));
      }
      Path p = Path.of(url.toURI());
      for (int i = file.split("/").length; i > 0; i--) p = p.getParent();
      return p;
    } catch (URISyntaxException | IllegalArgumentException e) {
      throw new IOException("where " + file + " comes from (" + url + "): " + e.getMessage(), e);
    }
  }

  private Source open(Path root) throws IOException {
    var code = new CodeSource(root.toUri().toURL(), (CodeSigner[]) null);
    var domain = new ProtectionDomain(code, null, this, null);
    return Files.isDirectory(root)
        ? new Source(root, null, domain)
        : new Source(root, new JarFile(root.toFile(), false), domain);
  }

  private boolean has(Path root) {
    for (Source s : sources) {
      if (s.root().equals(root)) return true;
    }
    return false;
  }

  private static boolean owns(String name) {
    for (String[] own : OWN) {
      if (name.startsWith(own[0])) return true;
    }
    return false;
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    if (!owns(name)) return super.loadClass(name, resolve);
    synchronized (getClassLoadingLock(name)) {
      Class<?> c = findLoadedClass(name);
      if (c == null) c = findClass(name);
      if (resolve) resolveClass(c);
      return c;
    }
  }

  @Override
  protected Class<?> findClass(String name) throws ClassNotFoundException {
    if (!owns(name)) throw new ClassNotFoundException(name);
    String file = name.replace('.', '/') + ".class";
    try {
      for (Source s : sources) {
        byte[] bytes = s.read(file);
        if (bytes != null) return defineClass(name, bytes, 0, bytes.length, s.domain());
      }
    } catch (IOException e) {
      throw new ClassNotFoundException(name + ": " + e.getMessage(), e);
    }
    throw new ClassNotFoundException(name);
  }

  @Override
  public void close() throws IOException {
    for (Source s : sources) {
      if (s.jar() != null) s.jar().close();
    }
  }
}
