#!/usr/bin/env node
// Runs the pinned pnpm on a machine that has only Node and npm: the README's commands go
// through here, so nothing installed by hand is needed. pnpm is installed once into .tools/,
// then `pnpm install` brings the workspace up to date (it is quick when nothing changed).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pinned = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.replace(/^pnpm@/, "");
const prefix = join(root, ".tools", `pnpm-${pinned}`);
const bin = join(prefix, "node_modules", ".bin");
const pnpm = join(bin, process.platform === "win32" ? "pnpm.cmd" : "pnpm");

if (!existsSync(pnpm)) {
  console.error(`evloop: installing pnpm ${pinned} into ${prefix}`);
  execFileSync("npm", ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", `pnpm@${pinned}`], {
    stdio: "inherit",
  });
}

const env = {
  ...process.env,
  PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
  TURBO_TELEMETRY_DISABLED: "1",
  DO_NOT_TRACK: "1",
};
const run = (args) => spawnSync(pnpm, args, { cwd: root, env, stdio: "inherit" }).status ?? 1;

const installed = run(["install", "--frozen-lockfile", "--reporter=append-only"]);
if (installed !== 0) process.exit(installed);
process.exit(run(process.argv.slice(2)));
