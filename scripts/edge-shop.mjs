#!/usr/bin/env node
// `npx edge-shop ...` (after `npm link`, or from the repo): the CLI runs on the pinned Node 22 in node_modules/.bin.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const node = join(root, "node_modules", ".bin", process.platform === "win32" ? "node.cmd" : "node");
const result = spawnSync(node, [join(root, "scripts", "cli.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
