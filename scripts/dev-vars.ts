/**
 * Local secrets, generated once into git-ignored .dev.vars files beside each config. Running dev
 * again reuses them, so tokens issued earlier stay valid across restarts.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateApiKey, generateSigningKey } from "./keys.ts";
import { ROOT } from "./lib.ts";

function parse(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) vars.set(match[1], match[2] ?? "");
  }
  return vars;
}

async function ensure(file: string, wanted: Record<string, () => Promise<string>>): Promise<void> {
  const path = join(ROOT, file);
  const existing = existsSync(path) ? parse(readFileSync(path, "utf8")) : new Map<string, string>();
  const missing = Object.keys(wanted).filter((name) => !existing.has(name));
  if (missing.length === 0) return;
  let text = existsSync(path)
    ? readFileSync(path, "utf8")
    : "# Local secrets for `npm run dev`; generated, never committed.\n";
  if (!text.endsWith("\n")) text += "\n";
  for (const name of missing) {
    const value = await (wanted[name] as () => Promise<string>)();
    text += `${name}='${value}'\n`;
  }
  writeFileSync(path, text, { mode: 0o600 });
  console.log(`wrote ${missing.join(", ")} to ${file}`);
}

const faultsOn = { FAULTS_ENABLED: async () => "true" };

/** The one key payments sends and the simulator checks: whichever .dev.vars has it, else a new one. */
async function sharedApiKey(): Promise<string> {
  for (const file of ["workers/payments/.dev.vars", "workers/psp-sim/.dev.vars"]) {
    const path = join(ROOT, file);
    const key = existsSync(path) ? parse(readFileSync(path, "utf8")).get("PSP_API_KEY") : undefined;
    if (key) return key.replace(/^'(.*)'$/, "$1");
  }
  return generateApiKey();
}

export async function ensureDevVars(): Promise<void> {
  // Fault injection exists only locally: the committed configs all say "false".
  // Analytics Engine drops writes locally: the gateway, orders (saga endings), resilience (breaker
  // transitions), events (outbox lag, queue batches), ops (queue batches) and notifications (queue
  // batches, sends) also feed shop-ops' local metrics store.
  const metricsLocal = { METRICS_LOCAL: async () => "true" };
  await ensure(".dev.vars", { ...faultsOn, ...metricsLocal });
  await ensure("workers/orders/.dev.vars", { ...faultsOn, ...metricsLocal });
  await ensure("workers/resilience/.dev.vars", metricsLocal);
  await ensure("workers/events/.dev.vars", metricsLocal);
  await ensure("workers/ops/.dev.vars", metricsLocal);
  await ensure("workers/notifications/.dev.vars", { ...faultsOn, ...metricsLocal });
  const apiKey = await sharedApiKey();
  await ensure("workers/payments/.dev.vars", { ...faultsOn, PSP_API_KEY: async () => apiKey });
  await ensure("workers/psp-sim/.dev.vars", { ...faultsOn, PSP_API_KEY: async () => apiKey });
  await ensure("workers/users/.dev.vars", {
    JWT_SIGNING_KEY: generateSigningKey,
    JWT_PREVIOUS_PUBLIC_KEYS: async () => "[]",
  });
}

if (import.meta.main) await ensureDevVars();
