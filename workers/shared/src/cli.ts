import type { Actor } from "./contracts/common";

/**
 * The actor of the operator scripts (`npm run admin:create`, the dev seed): they change a
 * service's database directly and stamp this on the events they write, and shop-ops knows an admin
 * made by a script by it (workers/ops/src/audit-events.ts). No runtime imports: the scripts load
 * this file in Node.
 */
export const CLI_ACTOR = { type: "system", id: "cli" } as const satisfies Actor;
