#!/usr/bin/env node
// The install step of @evloop/native. It uses a binary that is already there when it loads (a
// prebuild shipped under prebuilds/<platform>-<arch>/, or an earlier build/Release that is newer
// than every source), and otherwise compiles the addon from source with node-gyp.
//
// node-gyp gets --nodedir pointing at the running Node's own headers when they are installed
// (a Debian/Homebrew/official-tarball Node has <prefix>/include/node): pnpm does not pass
// `nodedir` from .npmrc, and without it node-gyp tries to download headers, which fails offline.
//
//   node scripts/build-native.mjs           build only when needed
//   node scripts/build-native.mjs --force   always rebuild (also EVLOOP_NATIVE_BUILD_FROM_SOURCE=1)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, "package.json"));
const built = join(root, "build", "Release", "evloop_native.node");
const force = process.argv.includes("--force") || process.env.EVLOOP_NATIVE_BUILD_FROM_SOURCE === "1";

/** Whether node-gyp-build finds a binary here that this Node can load. */
function loads() {
  try {
    require("node-gyp-build")(root);
    return true;
  } catch {
    return false;
  }
}

/** Whether build/Release holds a binary newer than binding.gyp and every C source. */
function buildIsFresh() {
  if (!existsSync(built)) return false;
  const dir = join(root, "src", "native");
  const sources = [join(root, "binding.gyp"), ...readdirSync(dir).map((f) => join(dir, f))];
  const builtAt = statSync(built).mtimeMs;
  return sources.every((f) => statSync(f).mtimeMs <= builtAt);
}

/** The command that runs node-gyp: npm's own, the workspace's devDependency, or the one on PATH. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) {
    return fromNpm.endsWith(".js") ? [process.execPath, fromNpm] : [fromNpm];
  }
  try {
    return [process.execPath, require.resolve("node-gyp/bin/node-gyp.js")];
  } catch {
    // Not installed as a dependency: npm and pnpm put their bundled node-gyp on PATH for scripts.
    return [process.platform === "win32" ? "node-gyp.cmd" : "node-gyp"];
  }
}

/** The --nodedir argument: explicit configuration first, else the running Node's prefix. */
function nodedirArgs() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return [`--nodedir=${configured}`];
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, "include", "node", "node_api.h"))) return [`--nodedir=${prefix}`];
  return [];
}

if (!force) {
  if (buildIsFresh() && loads()) process.exit(0);
  if (!existsSync(built) && loads()) process.exit(0); // a prebuild for this platform
}

const [command, ...prefixArgs] = nodeGyp();
const args = [...prefixArgs, "rebuild", ...nodedirArgs()];
console.error(`@evloop/native: building the addon from source (${[command, ...args].join(" ")})`);
const result = spawnSync(command, args, {
  cwd: root,
  stdio: "inherit",
  shell: process.platform === "win32" && !command.endsWith(".exe"),
});
if (result.status !== 0 || !loads()) {
  console.error(
    "@evloop/native: the addon could not be built. It needs Python 3, make and a C compiler, and the Node.js headers " +
      "(installed with Node, or downloaded by node-gyp). Set npm_config_nodedir to a folder with include/node if " +
      "they are elsewhere.",
  );
  process.exit(result.status || 1);
}
