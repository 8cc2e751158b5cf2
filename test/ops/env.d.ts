// The ops test project's Env is shop-ops' own (workers/ops/worker-configuration.d.ts).
export {};
