/**
 * CPU time of a process's main thread (where Deno runs JavaScript), in ms, from
 * /proc/<pid>/task/<pid>/stat; NaN once the process is gone. edge-runtime likewise
 * counts the isolate's thread, not the GC and I/O threads beside it.
 */
export function mainThreadCpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/stat`);
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime 14 and stime 15, in clock ticks of 10 ms.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}
