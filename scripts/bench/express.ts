/**
 * The stack edge-shop replaces (the seed's: Express, helmet, cors, jsonwebtoken ES256,
 * express-rate-limit, http-proxy-middleware, SQLite), from its own package in `bench/express/`:
 * installed from its lockfile when missing, started as two child processes on this Node: a gateway
 * that verifies the JWT, rate-limits and proxies, and a users service that reads SQLite.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, run } from "../lib.ts";

export const EXPRESS_DIR = join(ROOT, "bench", "express");

export interface ExpressStack {
  gateway: URL;
  users: URL;
  gatewayPid: number;
  usersPid: number;
  stop(): void;
}

export async function installExpress(): Promise<void> {
  if (existsSync(join(EXPRESS_DIR, "node_modules", "express"))) return;
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  await run(npm, ["ci", "--no-audit", "--no-fund"], { cwd: EXPRESS_DIR, env: process.env }, { quiet: true });
}

/** Starts `file` on this Node and resolves with its port once it prints `listening <port>`. */
function start(file: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: URL }> {
  const child = spawn(process.execPath, ["--no-warnings", join(EXPRESS_DIR, file)], {
    cwd: EXPRESS_DIR,
    env: { ...process.env, NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`bench/express/${file} exited (${code}) before listening`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) {
        child.removeAllListeners("exit");
        resolve({ child, url: new URL(`http://127.0.0.1:${match[1]}`) });
      }
    });
  });
}

export async function startExpress(options: {
  dbPath: string;
  publicKeyPem: string;
  jwks: unknown;
  issuer: string;
  audience: string;
}): Promise<ExpressStack> {
  const users = await start("users.mjs", { DB_PATH: options.dbPath, JWKS: JSON.stringify(options.jwks) });
  const gateway = await start("gateway.mjs", {
    USERS_URL: users.url.toString(),
    JWT_PUBLIC_KEY: options.publicKeyPem,
    JWT_ISSUER: options.issuer,
    JWT_AUDIENCE: options.audience,
  });
  return {
    gateway: gateway.url,
    users: users.url,
    gatewayPid: gateway.child.pid as number,
    usersPid: users.child.pid as number,
    stop() {
      gateway.child.kill();
      users.child.kill();
    },
  };
}
