package io.handlewatch.agent.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Sizes on the command line: 8MiB, 512KiB, 1GiB, 4096 (bytes). */
final class DataSizeConverter implements ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    String v = value.strip().toLowerCase(Locale.ROOT);
    long unit = 1;
    for (String[] u :
        new String[][] {{"gib", "1073741824"}, {"mib", "1048576"}, {"kib", "1024"}, {"b", "1"}}) {
      if (v.endsWith(u[0])) {
        unit = Long.parseLong(u[1]);
        v = v.substring(0, v.length() - u[0].length()).strip();
        break;
      }
    }
    try {
      long n = Long.parseLong(v);
      if (n < 1) throw new TypeConversionException("a size must be positive: " + value);
      return Math.multiplyExact(n, unit);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new TypeConversionException("not a size (e.g. 8MiB, 512KiB, 4096): " + value);
    }
  }
}
