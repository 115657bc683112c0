#!/usr/bin/env node
// Every test in the workspace: turbo builds, typechecks, lints and tests each package (continuing
// past a failure so one red package does not hide the others), then the per-package vitest JSON
// results are added up into the closing line CI reads: `N passed, N failed`.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const groups = ["packages", "examples"].filter((g) => existsSync(join(root, g)));
const dirs = [...groups.flatMap((g) => readdirSync(join(root, g)).map((d) => join(root, g, d))), join(root, "bench")];
const results = dirs.map((d) => join(d, ".vitest-results", "result.json"));
for (const file of results) rmSync(file, { force: true });

const turbo = spawnSync(
  "turbo",
  ["run", "build", "typecheck", "lint", "test", "--continue", "--concurrency=2", "--output-logs=errors-only", "--force", ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit" },
);

if (turbo.error) console.error(`evloop: could not run turbo: ${turbo.error.message}`);

let passed = 0;
let failed = 0;
for (const file of results) {
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
}
// A task that failed before its tests ran (build, typecheck, lint) counts as one failure, so a
// red run can never close with "0 failed".
if (turbo.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : 1);
