/**
 * CPU time from /proc, in ms; NaN once the process is gone. Linux counts it in clock
 * ticks of 10 ms.
 */
function statCpuMs(path: string): number {
  try {
    const stat = Deno.readTextFileSync(path);
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * A process's main thread (where Deno runs JavaScript). edge-runtime likewise counts the
 * isolate's thread, not the GC and I/O threads beside it.
 */
export const mainThreadCpuMs = (pid: number): number => statCpuMs(`/proc/${pid}/task/${pid}/stat`);

/** A whole process, every thread (for benchmarks). */
export const processCpuMs = (pid: number): number => statCpuMs(`/proc/${pid}/stat`);
