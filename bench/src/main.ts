// pnpm bench: every contender measured side by side in one run, interleaved, medians of several
// repetitions; only ratios from the same run are worth quoting (absolute times drift ~20%).
//   node --expose-gc dist/main.js [--quick]
import { cpus } from "node:os";
import { bareAddon, libuvLoop, netSocket, pollLoop, rxjsFromHandle, rxjsLoop } from "./contenders.ts";
import { makePairs, median, timeRounds, type Contender } from "./harness.ts";
import { benchTimers } from "./timers.ts";

const quick = process.argv.includes("--quick");
const REPS = quick ? 3 : 5;
const GRID: [number, number][] = [
  [10, 1],
  [10, 100],
  [1000, 1],
  [1000, 100],
  [10000, 1],
  [10000, 100],
];
const contenders: Contender[] = [netSocket, bareAddon, libuvLoop, pollLoop, rxjsLoop, rxjsFromHandle];
/** K cannot exceed N: with N = 10, a round makes all 10 ready. */
const effective = (n: number, k: number) => Math.min(n, k);

async function measure(contender: Contender, n: number, k: number): Promise<number> {
  const pairs = makePairs(n);
  const instance = await contender.setup(pairs);
  const cursor = { at: 0 };
  // Warm up, then size the run to about 150 ms.
  const probe = await timeRounds(instance, pairs, effective(n, k), 200, cursor);
  const rounds = Math.max(200, Math.min(20000, Math.round(150e6 / probe)));
  const ns = await timeRounds(instance, pairs, effective(n, k), rounds, cursor);
  await instance.close();
  pairs.close();
  (globalThis as { gc?: () => void }).gc?.();
  return ns;
}

const fmt = (ns: number) => (ns / 1000).toFixed(2);
const ratio = (a: number, b: number) => (a / b).toFixed(2);

async function main(): Promise<void> {
  console.log(`# evloop bench (${quick ? "quick" : "full"})`);
  console.log(`Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}, ${process.platform}/${process.arch}\n`);
  console.log("## N watched socketpair ends, K made readable per round, each callback reads its byte\n");
  console.log(`| N | K | ${contenders.map((c) => `${c.name} µs/round`).join(" | ")} | libuv/net | libuv/bare | poll/libuv | rxjs loop/libuv | fromHandle/libuv | libuv events/s |`);
  console.log(`|---|---|${contenders.map(() => "---:").join("|")}|---:|---:|---:|---:|---:|---:|`);
  const byCell = new Map<string, Map<string, number>>();
  for (const [n, k] of GRID) {
    const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    for (let r = 0; r < REPS; r++) {
      // Rotate the order so no contender always runs first (or right after the heaviest set-up).
      for (let i = 0; i < contenders.length; i++) {
        const c = contenders[(i + r) % contenders.length] as Contender;
        samples.get(c.name)?.push(await measure(c, n, k));
      }
    }
    const med = new Map([...samples].map(([name, v]) => [name, median(v)]));
    byCell.set(`${n}/${k}`, med);
    const get = (c: Contender) => med.get(c.name) as number;
    console.log(
      `| ${n} | ${effective(n, k)} | ${contenders.map((c) => fmt(get(c))).join(" | ")} | ${ratio(get(libuvLoop), get(netSocket))} | ${ratio(get(libuvLoop), get(bareAddon))} | ${ratio(get(pollLoop), get(libuvLoop))} | ${ratio(get(rxjsLoop), get(libuvLoop))} | ${ratio(get(rxjsFromHandle), get(libuvLoop))} | ${Math.round((effective(n, k) / get(libuvLoop)) * 1e9).toLocaleString("en")} |`,
    );
  }
  const flat = (name: string, k: number) =>
    ratio(byCell.get(`10000/${k}`)?.get(name) as number, byCell.get(`10/${k}`)?.get(name) as number);
  console.log(`\nN=10000 over N=10 at K=1: libuv ${flat(libuvLoop.name, 1)}, poll ${flat(pollLoop.name, 1)}\n`);

  console.log("## Timers, side by side\n");
  const t = await benchTimers(REPS, quick);
  console.log("| | @evloop/libuv | Node | ratio |");
  console.log("|---|---:|---:|---:|");
  console.log(`| remove + add pair at 10,000 timers (ns), Node's default ref'd timers | ${t.churn.evloop.toFixed(0)} | ${t.churn.node.toFixed(0)} | ${ratio(t.churn.evloop, t.churn.node)} |`);
  console.log(`| the same against Node's unref'd timers (ns) | ${t.churn.evloop.toFixed(0)} | ${t.churn.nodeUnref.toFixed(0)} | ${ratio(t.churn.evloop, t.churn.nodeUnref)} |`);
  console.log(`| CPU per periodic fire, 100 timers 1–10 ms (µs; ratio: median of ${t.fire.pairs} paired runs) | ${t.fire.evloop.toFixed(2)} | ${t.fire.node.toFixed(2)} | ${t.fire.ratio.toFixed(2)} |`);
}

await main();
