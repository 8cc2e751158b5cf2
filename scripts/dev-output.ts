/**
 * What `npm run dev` shows of wrangler's output (pure, unit-tested): the noise of a crash (a Go
 * goroutine dump from esbuild's service, Node stack frames) is held back, and when wrangler fails
 * the first real error line is what the user reads, e.g. "address already in use: 127.0.0.1:8788".
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC.
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** A Go runtime dump starts here and runs to the end of the output. */
const DUMP_START = /^(goroutine \d+ \[|panic: |fatal error: |SIGSEGV|runtime: )/;
/** Lines that are never the error itself: stack frames, source pointers, boxes and rules. */
const NOISE = [
  /^\s+at /, // Node stack frame
  /^\s*[\w./-]+\.go:\d+/, // Go source line
  /^\t/, // Go frame arguments
  /^[\s─━═│┃┌┐└┘╭╮╰╯\-=~^|]*$/, // empty, rules, boxes, carets
  /^\s*\d+ │/, // a code frame's numbered line
  /^\s*Node\.js v\d/,
  /^\s*ℹ|If you think this is a bug|Logs were written to|docs? at https?:/i,
];

const clean = (text: string) => text.replace(ANSI, "");

export function isNoise(line: string): boolean {
  return NOISE.some((pattern) => pattern.test(line));
}

/** The port in a busy-address message, e.g. "listen EADDRINUSE: address already in use 127.0.0.1:8788". */
function busyAddress(line: string): string | undefined {
  if (!/EADDRINUSE|address already in use/i.test(line)) return undefined;
  const address = /((?:\d{1,3}\.){3}\d{1,3}|localhost|\[[0-9a-f:]*\]|::1?)?:(\d{2,5})\b/i.exec(line);
  if (!address) return "address already in use";
  return `address already in use: ${address[1] ?? "127.0.0.1"}:${address[2]}`;
}

/**
 * The first `✘ [ERROR]` message, with the source location esbuild prints under it ("Could not
 * resolve "./x" (src/index.ts:3:7)"); esbuild's "Build failed with N error(s):" heading gives way to
 * the error it announces.
 */
function markedError(lines: string[]): string | undefined {
  const at = lines
    .map((line, index) => ({ index, text: /✘ \[ERROR\]\s*(.*)$/.exec(line)?.[1]?.trim() }))
    .filter((found): found is { index: number; text: string } => Boolean(found.text));
  const chosen = at.find((found) => !/^Build failed with \d+ errors?:?$/.test(found.text)) ?? at[0];
  if (!chosen) return undefined;
  const location = lines
    .slice(chosen.index + 1, chosen.index + 4)
    .map((line) => /^\s*([\w./@-]+:\d+:\d+):\s*$/.exec(line)?.[1])
    .find(Boolean);
  return location ? `${chosen.text} (${location})` : chosen.text;
}

/**
 * The one line to show for a failed wrangler run: a busy port (anywhere in the output) as
 * "address already in use: host:port"; else the first `✘ [ERROR]` line (wrangler's and esbuild's
 * marker); else the first line naming an error (`Error: ...`, `TypeError: ...`, `error: ...`,
 * `ERR_...`) outside a dump or stack; else the dump's own first line (`panic: ...`). Undefined when
 * the output holds no error at all.
 */
export function firstRealError(output: string): string | undefined {
  const lines = clean(output).split(/\r?\n/);
  for (const line of lines) {
    const busy = busyAddress(line);
    if (busy) return busy;
  }
  const dumpAt = lines.findIndex((line) => DUMP_START.test(line));
  const before = dumpAt >= 0 ? lines.slice(0, dumpAt) : lines;
  const candidates = before.filter((line) => !isNoise(line));
  const marked = markedError(before);
  if (marked) return marked;
  const named = candidates.find((line) =>
    /^\s*(Uncaught )?([A-Z]\w*)?Error\b|^\s*error:|\bERR_[A-Z_]+\b|^\s*\[?ERROR\]?\b/i.test(line),
  );
  if (named) return named.trim();
  return dumpAt >= 0 ? lines[dumpAt]?.trim() : undefined;
}

/**
 * A filter for live output, line by line: passes lines through until a dump starts, then holds
 * back everything after it (the summary line says what failed). Keeps a partial last line until
 * its end arrives.
 */
export function createDumpFilter(): (chunk: string) => string {
  let partial = "";
  let dumping = false;
  return (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    const shown: string[] = [];
    for (const line of lines) {
      if (!dumping && DUMP_START.test(clean(line))) dumping = true;
      if (!dumping) shown.push(`${line}\n`);
    }
    return shown.join("");
  };
}
