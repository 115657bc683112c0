// pnpm bench: every contender measured side by side in one run, interleaved, medians of several
// repetitions; ratios are medians of the repetitions' own ratios. Only ratios from the same run
// are worth quoting (absolute times drift ~20%).
//   node --expose-gc dist/main.js [--quick]
import { cpus } from "node:os";
import { bareAddon, libuvLoop, netSocket, pollLoop, rxjsFromHandle, rxjsLoop } from "./contenders.ts";
import { makePairs, median, timeRounds, type Contender } from "./harness.ts";
import { benchTimers } from "./timers.ts";

const quick = process.argv.includes("--quick");
const REPS = quick ? 3 : 13;
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
  // Steady state is what is measured, as in an application that registered its descriptors long
  // ago: every descriptor is made ready once (first-touch costs in the kernel and the loop), and
  // what the set-up allocated is collected and promoted before timing, so no contender pays for
  // its set-up's garbage inside the timed rounds. Then the run is sized to about 100 ms.
  const gc = (globalThis as { gc?: () => void }).gc;
  const probe = await timeRounds(instance, pairs, effective(n, k), Math.max(200, Math.ceil(n / k)), cursor);
  gc?.();
  const rounds = Math.max(200, Math.min(20000, Math.round(100e6 / probe)));
  const ns = await timeRounds(instance, pairs, effective(n, k), rounds, cursor);
  await instance.close();
  pairs.close();
  // Let closes that finish on later loop iterations (10,000 sockets or poll handles) finish before
  // the next contender is timed.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  gc?.();
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
  // Repetitions outermost: one repetition measures every cell, so the cells compared by the
  // flatness ratio ran seconds apart, not a minute.
  const samples = new Map<string, Map<string, number[]>>(
    GRID.map(([n, k]) => [`${n}/${k}`, new Map(contenders.map((c) => [c.name, [] as number[]]))]),
  );
  const series = (n: number, k: number, c: Contender) => samples.get(`${n}/${k}`)?.get(c.name) as number[];
  for (let r = 0; r < REPS; r++) {
    // Rotate the order so no contender always runs first, and reverse it every other repetition
    // so none always runs right after the same one (whose tear-down it would otherwise inherit).
    const order = contenders.map((_, i) => contenders[(i + r) % contenders.length] as Contender);
    if (r % 2 === 1) order.reverse();
    for (const [n, k] of GRID) for (const c of order) series(n, k, c).push(await measure(c, n, k));
  }
  // Each ratio is the median of the repetitions' ratios: the two sides of a repetition ran close
  // together, so a slow stretch of the machine weighs on both.
  const paired = (as: readonly number[], bs: readonly number[]) => median(as.map((x, i) => x / (bs[i] as number))).toFixed(2);
  for (const [n, k] of GRID) {
    const get = (c: Contender) => median(series(n, k, c));
    const vs = (a: Contender, b: Contender) => paired(series(n, k, a), series(n, k, b));
    console.log(
      `| ${n} | ${effective(n, k)} | ${contenders.map((c) => fmt(get(c))).join(" | ")} | ${vs(libuvLoop, netSocket)} | ${vs(libuvLoop, bareAddon)} | ${vs(pollLoop, libuvLoop)} | ${vs(rxjsLoop, libuvLoop)} | ${vs(rxjsFromHandle, libuvLoop)} | ${Math.round((effective(n, k) / get(libuvLoop)) * 1e9).toLocaleString("en")} |`,
    );
  }
  const flat = (c: Contender) => paired(series(10000, 1, c), series(10, 1, c));
  console.log(`\nN=10000 over N=10 at K=1: libuv ${flat(libuvLoop)}, poll ${flat(pollLoop)}\n`);

  console.log("## Timers, side by side\n");
  const t = await benchTimers(REPS, quick);
  console.log("| | @evloop/libuv | Node | ratio |");
  console.log("|---|---:|---:|---:|");
  console.log(`| remove + add pair at 10,000 timers (ns), Node's default ref'd timers | ${t.churn.evloop.toFixed(0)} | ${t.churn.node.toFixed(0)} | ${ratio(t.churn.evloop, t.churn.node)} |`);
  console.log(`| the same against Node's unref'd timers (ns) | ${t.churn.evloop.toFixed(0)} | ${t.churn.nodeUnref.toFixed(0)} | ${ratio(t.churn.evloop, t.churn.nodeUnref)} |`);
  console.log(`| CPU per periodic fire, 100 timers 1–10 ms (µs; ratio: median of ${t.fire.pairs} paired runs) | ${t.fire.evloop.toFixed(2)} | ${t.fire.node.toFixed(2)} | ${t.fire.ratio.toFixed(2)} |`);
}

await main();
