// `node dist/main.js [--loop libuv|poll|rxjs|virtual]`: the demo, printed as it happens.
import { parseArgs } from "node:util";
import { runDemo } from "./demo.ts";
import { LOOP_NAMES, type LoopName } from "./loops.ts";

const usage = `usage: domain-watcher [--loop ${LOOP_NAMES.join("|")}]  (default: libuv)`;

function loopName(): LoopName | undefined {
  try {
    const { values } = parseArgs({ options: { loop: { type: "string", default: "libuv" }, help: { type: "boolean", short: "h" } } });
    if (values.help) {
      console.log(usage);
      return undefined;
    }
    if ((LOOP_NAMES as string[]).includes(values.loop)) return values.loop as LoopName;
    console.error(`domain-watcher: unknown loop "${values.loop}"\n${usage}`);
  } catch (error) {
    console.error(`domain-watcher: ${(error as Error).message}\n${usage}`);
  }
  process.exitCode = 2;
  return undefined;
}

const loop = loopName();
if (loop !== undefined) {
  runDemo({ loop, print: (line) => console.log(line) }).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
