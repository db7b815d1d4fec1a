package io.handlewatch.agent.spool;

/**
 * When the spool asks the kernel to put appended reports on stable storage (fdatasync). Every
 * policy survives a crash of the agent itself, kill -9 included: a report is in the kernel's page
 * cache once its append returns, and the kernel writes it out whether or not the process lives. The
 * policies differ only in what a power loss or kernel panic can take.
 */
public enum FsyncPolicy {
  /**
   * Sync every append before it is sent. At one report per interval (10 s by default) this is one
   * fdatasync per interval; BENCHMARKS.md has what it costs. Nothing taken is lost to a power cut.
   */
  ALWAYS,
  /** Sync at most once a second; a power cut can take the last second of reports. */
  INTERVAL,
  /** Leave it to the kernel's writeback (about 30 s); for tmpfs, or disks that must not be worn. */
  NEVER
}
