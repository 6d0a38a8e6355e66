import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';

/** Clock ticks per second of /proc's utime/stime (USER_HZ: 100 on Linux). */
const TICK_MS = 10;

interface ProcStat {
  pid: number;
  ppid: number;
  /** Own CPU (user + system) in ms. */
  ownMs: number;
  /** CPU of its children that already exited and were waited for, in ms. */
  childrenMs: number;
}

async function stat(pid: number): Promise<ProcStat | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after it start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = (index: number) => Number(fields[index - 3]);
    return {
      pid,
      ppid: Number(fields[1]),
      ownMs: (ticks(14) + ticks(15)) * TICK_MS,
      childrenMs: (ticks(16) + ticks(17)) * TICK_MS,
    };
  } catch {
    return null;
  }
}

/** CPU ms a process spent so far, with its exited children's. */
export async function processCpuMs(pid: number): Promise<number> {
  const own = await stat(pid);
  return own ? own.ownMs + own.childrenMs : 0;
}

/**
 * CPU ms a process tree spent so far: the root with its exited children, plus every live child (Postgres: the
 * postmaster and its backends, live or gone).
 */
export async function treeCpuMs(rootPid: number): Promise<number> {
  const root = await stat(rootPid);
  if (!root) return 0;
  let total = root.ownMs + root.childrenMs;
  const entries = await readdir('/proc');
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        const child = await stat(Number(entry));
        if (child && child.ppid === rootPid) total += child.ownMs + child.childrenMs;
      }),
  );
  return total;
}

/** This process's CPU ms (user + system), from Node's own counter. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** The machine's load averages at a moment, as `uptime` prints them; benches record it beside every figure. */
export function load(): { load1: number; load5: number; load15: number } {
  const [load1, load5, load15] = os.loadavg().map((value) => Math.round(value * 100) / 100);
  return { load1: load1!, load5: load5!, load15: load15! };
}

/** CPU spent by several processes between `start()` and `stop()`. */
export async function cpuMeter(pids: Record<string, number | null>) {
  const read = async () => {
    const entries = await Promise.all(
      Object.entries(pids).map(async ([name, pid]) => [name, pid === null ? null : await treeCpuMs(pid)] as const),
    );
    return { app: selfCpuMs(), ...Object.fromEntries(entries) } as Record<string, number | null>;
  };
  const before = await read();
  return async (): Promise<Record<string, number | null>> => {
    const after = await read();
    return Object.fromEntries(
      Object.entries(after).map(([name, ms]) => [name, ms === null ? null : Math.round(ms - before[name]!)]),
    );
  };
}
