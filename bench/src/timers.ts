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

/** CPU microseconds per periodic fire: 100 timers with intervals 1..10 ms for `ms` of wall time. */
async function firesEvloop(ms: number): Promise<number> {
  const loop = createLibuvLoop();
  let fires = 0;
  const cb = () => void fires++;
  const ids = Array.from({ length: 100 }, (_, i) => loop.addTimeout((i % 10) + 1, cb));
  const cpu = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(cpu);
  for (const id of ids) loop.removeTimeout(id);
  loop.close();
  return (used.user + used.system) / fires;
}

async function firesNode(ms: number): Promise<number> {
  let fires = 0;
  const cb = () => void fires++;
  const ids = Array.from({ length: 100 }, (_, i) => setInterval(cb, (i % 10) + 1));
  const cpu = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(cpu);
  for (const id of ids) clearInterval(id);
  return (used.user + used.system) / fires;
}

export interface TimerFigures {
  churn: { evloop: number; node: number; nodeUnref: number };
  fire: { evloop: number; node: number };
}

/** Both timer workloads, each measured side by side, alternating, `reps` times; medians. */
export async function benchTimers(reps: number, quick: boolean): Promise<TimerFigures> {
  const ops = quick ? 200_000 : 1_000_000;
  const wall = quick ? 300 : 1500;
  const churn = { evloop: [] as number[], node: [] as number[], nodeUnref: [] as number[] };
  const fire = { evloop: [] as number[], node: [] as number[] };
  churnEvloop(ops / 10);
  churnNode(ops / 10, false);
  churnNode(ops / 10, true);
  for (let r = 0; r < reps; r++) {
    churn.evloop.push(churnEvloop(ops));
    churn.node.push(churnNode(ops, false));
    churn.nodeUnref.push(churnNode(ops, true));
    fire.node.push(await firesNode(wall));
    fire.evloop.push(await firesEvloop(wall));
  }
  return {
    churn: { evloop: median(churn.evloop), node: median(churn.node), nodeUnref: median(churn.nodeUnref) },
    fire: { evloop: median(fire.evloop), node: median(fire.node) },
  };
}
