#!/usr/bin/env node
// Builds @evloop/libvirt's addon from source, against the system libvirt that pkg-config finds
// (Debian/Ubuntu: `apt-get install libvirt-dev`; Fedora: `dnf install libvirt-devel`).
//
// Without libvirt's development files this prints one line and exits 0: the workspace installs
// and builds without them, and the package's tests skip. With them, a build that fails is an
// error under --strict (the `build` script, so CI cannot pass with a broken addon) and a warning
// otherwise (the `install` script: an install must never fail because of an optional addon).
//
// node-gyp gets --nodedir pointing at the running Node's own headers when they are installed, as
// in @evloop/native: pnpm does not pass `nodedir` from .npmrc, and without it node-gyp tries to
// download headers, which fails offline.
//
//   node scripts/build-libvirt.mjs            build only when needed, never fail
//   node scripts/build-libvirt.mjs --strict   build only when needed, fail when libvirt is there and the build fails
//   node scripts/build-libvirt.mjs --force    always rebuild (also EVLOOP_LIBVIRT_BUILD_FROM_SOURCE=1)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, "package.json"));
const built = join(root, "build", "Release", "evloop_libvirt.node");
const force = process.argv.includes("--force") || process.env.EVLOOP_LIBVIRT_BUILD_FROM_SOURCE === "1";
const strict = process.argv.includes("--strict");

/** Whether pkg-config knows libvirt: the development files (headers, libvirt.pc) are installed. */
function haveLibvirt() {
  const result = spawnSync("pkg-config", ["--exists", "libvirt"], { stdio: "ignore" });
  return result.status === 0;
}

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
    return ["node-gyp"];
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

if (!haveLibvirt()) {
  console.error("@evloop/libvirt: libvirt-dev not installed (pkg-config cannot find libvirt): the addon is not built and its tests skip");
  process.exit(0);
}
if (!force && buildIsFresh() && loads()) process.exit(0);

const [command, ...prefixArgs] = nodeGyp();
const args = [...prefixArgs, "rebuild", ...nodedirArgs()];
console.error(`@evloop/libvirt: building the addon from source (${[command, ...args].join(" ")})`);
const result = spawnSync(command, args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
if (result.status !== 0 || !loads()) {
  console.error(
    "@evloop/libvirt: the addon could not be built although pkg-config finds libvirt. It needs Python 3, make, " +
      "a C compiler and the Node.js headers (set npm_config_nodedir to a folder with include/node if they are elsewhere).",
  );
  process.exit(strict ? result.status || 1 : 0);
}
