import type { RpcFaultSpec } from "./contracts/faults";

/** What an injected fault does to one RPC call (pure: the random source is a parameter). */
export interface RpcFaultDraw {
  latencyMs: number;
  /** error: fail before calling; ambiguous: call, then lose the answer; ok: behave. */
  outcome: "error" | "ambiguous" | "ok";
}

export function drawRpcFault(spec: RpcFaultSpec | undefined, random: () => number = Math.random): RpcFaultDraw {
  const latencyMs = spec?.latencyMs ?? 0;
  if (strikes(spec?.errorRate, random)) return { latencyMs, outcome: "error" };
  if (strikes(spec?.ambiguousRate, random)) return { latencyMs, outcome: "ambiguous" };
  return { latencyMs, outcome: "ok" };
}

function strikes(rate: number | undefined, random: () => number): boolean {
  return rate !== undefined && rate > 0 && random() < rate;
}

/** A spec with no positive value clears its target. */
export function isEmptyRpcFaultSpec(spec: RpcFaultSpec): boolean {
  return !Object.values(spec).some((value) => value !== undefined && value > 0);
}
