package io.handlewatch.agent.launch;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.ProtectionDomain;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * The class loader the command line is parsed in ({@link Main}): it defines picocli's classes and
 * the commands' ({@code io.handlewatch.agent.cli}) itself, child-first, from the same jar (or
 * classes directory) as the application's class loader, and leaves every other class to that
 * loader. So what a command builds for the daemon (its settings, sampler and runtime) is made of
 * the application loader's classes, and this loader and all it defined can be unloaded once
 * dropped.
 */
final class CliClassLoader extends ClassLoader implements AutoCloseable {
  private static final String[] OWN = {"picocli.", "io.handlewatch.agent.cli."};

  private final ProtectionDomain domain;
  private final JarFile jar; // null when the classes come from a directory
  private final Path dir;

  private CliClassLoader(ClassLoader parent, ProtectionDomain domain, JarFile jar, Path dir) {
    super("handlewatch-cli", parent);
    this.domain = domain;
    this.jar = jar;
    this.dir = dir;
  }

  /**
   * A loader over the jar or directory {@code beside} was loaded from, with {@code beside}'s loader
   * as parent. The jar is opened once more for the parse; the JDK shares its central directory with
   * the application loader's handle, and {@link #close} closes it.
   */
  static CliClassLoader besides(Class<?> beside) throws IOException {
    ProtectionDomain domain = beside.getProtectionDomain();
    Path where;
    try {
      where = Path.of(domain.getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IOException("where " + beside.getName() + " comes from: " + e.getMessage(), e);
    }
    ClassLoader parent = beside.getClassLoader();
    return Files.isDirectory(where)
        ? new CliClassLoader(parent, domain, null, where)
        : new CliClassLoader(parent, domain, new JarFile(where.toFile(), false), null);
  }

  private static boolean owns(String name) {
    for (String prefix : OWN) {
      if (name.startsWith(prefix)) return true;
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
    byte[] bytes;
    try {
      bytes = read(file);
    } catch (IOException e) {
      throw new ClassNotFoundException(name + ": " + e.getMessage(), e);
    }
    if (bytes == null) throw new ClassNotFoundException(name);
    return defineClass(name, bytes, 0, bytes.length, domain);
  }

  private byte[] read(String file) throws IOException {
    if (jar == null) {
      Path p = dir.resolve(file);
      return Files.isRegularFile(p) ? Files.readAllBytes(p) : null;
    }
    JarEntry entry = jar.getJarEntry(file);
    if (entry == null) return null;
    try (InputStream in = jar.getInputStream(entry)) {
      return in.readAllBytes();
    }
  }

  @Override
  public void close() throws IOException {
    if (jar != null) jar.close();
  }
}
