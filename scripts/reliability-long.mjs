#!/usr/bin/env node
// The long reliability run: the model-based property tests of every loop with many more programs
// than CI runs (docs/reliability.md). Usage:
//
//   node scripts/reliability-long.mjs [runs] [seed]     # or: npm run reliability:long -- 20000 7
//
// `runs` (default 5000, or EVLOOP_MODEL_RUNS) programs per loop, from `seed` (default: a new one,
// printed, or EVLOOP_MODEL_SEED). A failure prints the shrunk program and a replay line; the run
// goes on with the other loops and exits 1. Tests run from source, so no build is needed.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const runs = Number(process.argv[2] ?? process.env.EVLOOP_MODEL_RUNS ?? 5000);
const seed = Number(process.argv[3] ?? process.env.EVLOOP_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31));
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
  console.error("usage: node scripts/reliability-long.mjs [runs] [seed]");
  process.exit(2);
}

const suites = [
  ["packages/poll", "src/virtual-loop.model.test.ts"],
  ["packages/rxjs", "src/rxjs-loop.model.test.ts"],
  ["packages/poll", "src/poll-loop.model.test.ts"],
  ["packages/libuv", "src/libuv-loop.model.test.ts"],
];
const vitest = join(root, "node_modules", ".bin", "vitest");
console.log(`reliability: ${runs} programs per loop, seed ${seed}`);
const lines = [];
let failed = 0;
for (const [dir, file] of suites) {
  const started = performance.now();
  const result = spawnSync(vitest, ["run", "--config", "../../vitest.config.ts", "--reporter", "default", file], {
    cwd: join(root, dir),
    env: { ...process.env, EVLOOP_MODEL_RUNS: String(runs), EVLOOP_MODEL_SEED: String(seed) },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  // eslint-disable-next-line no-control-regex
  const found = output.replace(/\x1b\[[0-9;]*m/g, "").match(/^model: .*$/gm) ?? [];
  lines.push(...found);
  if (result.status !== 0) {
    failed++;
    console.log(output);
    lines.push(`FAILED: ${dir}/${file} (${seconds} s)`);
  }
  console.log(`${dir}/${file}: ${result.status === 0 ? "ok" : "FAILED"} in ${seconds} s`);
}
console.log(["", ...lines].join("\n"));
process.exit(failed === 0 ? 0 : 1);
