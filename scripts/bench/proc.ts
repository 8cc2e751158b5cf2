/**
 * CPU time of server processes, read from /proc/<pid>/stat (utime + stime, in clock ticks), and
 * the machine's outside load. Linux only, like the machines this bench runs on.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

interface Stat {
  comm: string;
  ppid: number;
  /** utime + stime, in microseconds */
  cpuUs: number;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command may hold spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text
    .slice(close + 2)
    .split(" ")
    .map((f) => Number(f));
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const ticks = (fields[11] ?? 0) + (fields[12] ?? 0);
  return { comm, ppid: fields[1] ?? 0, cpuUs: (ticks * 1_000_000) / TICKS_PER_SECOND };
}

/** CPU microseconds a process has used so far. */
export function cpuUs(pid: number): number {
  const s = stat(pid);
  if (!s) throw new Error(`process ${pid} is gone`);
  return s.cpuUs;
}

/** The descendants of `root` whose command is `comm` (e.g. Miniflare's workerd). */
export function descendantsNamed(root: number, comm: string): number[] {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    parents.set(pid, s.ppid);
    names.set(pid, s.comm);
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name === comm && isDescendant(pid)).map(([pid]) => pid);
}

/** The machine: what a reader needs to judge the figures. */
export function machine() {
  const cores = cpus();
  return {
    cpu: cores[0]?.model ?? "unknown",
    cores: cores.length,
    node: process.version,
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
  };
}

/** The 1-minute load average (the outside load: other jobs on a shared machine). */
export function load1(): number {
  return loadavg()[0] ?? 0;
}
