import { createLibuvLoop } from "@evloop/libuv";
import { median } from "./harness.ts";

const POPULATION = 10_000;
const FAR = 3_600_000;

/** ns per remove + add pair, with `POPULATION` timers live. */
function churnEvloop(ops: number): number {
  const loop = createLibuvLoop();
  const cb = () => {};
  const ids: number[] = [];
  for (let i = 0; i < POPULATION; i++) ids.push(loop.addTimeout(FAR + i, cb));
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    const slot = i % POPULATION;
    loop.removeTimeout(ids[slot] as number);
    ids[slot] = loop.addTimeout(FAR + slot, cb);
  }
  const ns = Number(process.hrtime.bigint() - start) / ops;
  loop.close();
  return ns;
}

/**
 * The same churn with Node's timers. `unref` matters: Node's ref'd timers (what `setTimeout`
 * gives by default) cost several times more per pair than unref'd ones, so both are measured.
 */
function churnNode(ops: number, unref: boolean): number {
  const cb = () => {};
  const make = unref ? (ms: number) => setTimeout(cb, ms).unref() : (ms: number) => setTimeout(cb, ms);
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < POPULATION; i++) timers.push(make(FAR + i));
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    const slot = i % POPULATION;
    clearTimeout(timers[slot]);
    timers[slot] = make(FAR + slot);
  }
  const ns = Number(process.hrtime.bigint() - start) / ops;
  for (const t of timers) clearTimeout(t);
  return ns;
}

/** One side of the periodic-fire workload: 100 timers with intervals 1..10 ms, run for `ms`. */
interface Periodic {
  start(cb: () => void): () => void;
}

const evloopPeriodic = (): Periodic => ({
  start(cb) {
    const loop = createLibuvLoop();
    const ids = Array.from({ length: 100 }, (_, i) => loop.addTimeout((i % 10) + 1, cb));
    return () => {
      for (const id of ids) loop.removeTimeout(id);
      loop.close();
    };
  },
});

const nodePeriodic = (): Periodic => ({
  start(cb) {
    const ids = Array.from({ length: 100 }, (_, i) => setInterval(cb, (i % 10) + 1));
    return () => ids.forEach(clearInterval);
  },
});

/** CPU microseconds (user + system, the whole process) per fire over `ms` of wall time. */
async function cpuPerFire(side: Periodic, ms: number): Promise<number> {
  let fires = 0;
  const stop = side.start(() => void fires++);
  const cpu = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(cpu);
  stop();
  return (used.user + used.system) / fires;
}

export interface TimerFigures {
  churn: { evloop: number; node: number; nodeUnref: number };
  /** Medians of each side's µs per fire, and the median of the per-pair ratios evloop/Node. */
  fire: { evloop: number; node: number; ratio: number; pairs: number };
}

/**
 * Both timer workloads, side by side. Churn: `reps` alternating runs, medians. Periodic fires:
 * a fire costs about a thousandth of the wake-up it shares with ~30 others, and what a wake-up
 * costs this VM drifts by ±20% over seconds, so many short runs are paired (each evloop run with
 * the Node run next to it, the order alternating) and the median of the pairs' ratios is quoted.
 */
export async function benchTimers(reps: number, quick: boolean): Promise<TimerFigures> {
  const ops = quick ? 200_000 : 1_000_000;
  const pairs = quick ? 10 : 40;
  const wall = quick ? 200 : 300;
  const churn = { evloop: [] as number[], node: [] as number[], nodeUnref: [] as number[] };
  churnEvloop(ops / 10);
  churnNode(ops / 10, false);
  churnNode(ops / 10, true);
  for (let r = 0; r < reps; r++) {
    churn.evloop.push(churnEvloop(ops));
    churn.node.push(churnNode(ops, false));
    churn.nodeUnref.push(churnNode(ops, true));
  }
  const evloop = evloopPeriodic();
  const node = nodePeriodic();
  await cpuPerFire(evloop, wall / 2);
  await cpuPerFire(node, wall / 2);
  const fire = { evloop: [] as number[], node: [] as number[], ratio: [] as number[] };
  for (let p = 0; p < pairs; p++) {
    const first = p % 2 === 0 ? evloop : node;
    const a = await cpuPerFire(first, wall);
    const b = await cpuPerFire(first === evloop ? node : evloop, wall);
    const [e, n] = first === evloop ? [a, b] : [b, a];
    fire.evloop.push(e);
    fire.node.push(n);
    fire.ratio.push(e / n);
  }
  return {
    churn: { evloop: median(churn.evloop), node: median(churn.node), nodeUnref: median(churn.nodeUnref) },
    fire: { evloop: median(fire.evloop), node: median(fire.node), ratio: median(fire.ratio), pairs },
  };
}
