package io.handlewatch.agent.source.natives;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * C library calls that report errno, through the Foreign Function &amp; Memory API: every handle
 * takes a capture segment (allocated with {@link #CAPTURE}) as its first argument, and {@link
 * #ERRNO} reads the errno the call left there. Loaded only when a native reader first runs, so a
 * JVM that may not call native code fails that reader, not the agent.
 */
public final class ErrnoCalls {
  public static final Linker LINKER = Linker.nativeLinker();
  public static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
  public static final VarHandle ERRNO =
      CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  private ErrnoCalls() {}

  /** A handle for libc's {@code name}, capturing errno; {@code options} e.g. firstVariadicArg. */
  public static MethodHandle downcall(
      String name, FunctionDescriptor fd, Linker.Option... options) {
    Linker.Option[] all = new Linker.Option[options.length + 1];
    all[0] = Linker.Option.captureCallState("errno");
    System.arraycopy(options, 0, all, 1, options.length);
    return LINKER.downcallHandle(
        LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)),
        fd,
        all);
  }
}
