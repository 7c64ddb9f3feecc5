// The in-process harness behind the RSS-over-many-cycles figure: the real Agent class (store, Vault backend,
// templates, scrubber, status book, metrics, audit log), no listener, cycles triggered back to back. One
// JSON line per cycle on stdout: { cycle, ms, rss, heapUsed, external }. bench/cases/soak.ts bundles it with
// the bin's esbuild options (scripts/bundle.ts) and runs the bundle as `node --expose-gc <the bin's node flags>
// soak-child.js <config> <cycles> <budgetMs>` with the backend's variables set, so it runs the code the bin runs,
// in a process started as the bin starts it. With --expose-gc it also reports the live heap after a full GC once
// warm (cycle 10) and at the end; not in between, where a forced collection would shrink the RSS it measures.
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { getHeapCodeStatistics } from 'node:v8';
import { Agent } from '../agent/agent.js';

const [config = '', cyclesArg = '10', budgetArg = '60000'] = process.argv.slice(2);
const cycles = Number(cyclesArg);
const budgetMs = Number(budgetArg);

// Log lines are formatted and scrubbed as in production, then dropped.
const sink = new Writable({ write(_chunk, _encoding, callback) { callback(); } });
const agent = new Agent({
  io: { argv: [], env: { ...process.env, SECRETS_AGENT_LISTEN: '' }, cwd: process.cwd(), stdout: sink, stderr: sink, logStream: sink },
  flags: { config },
});

// Completion is seen by counting template_renders_total increments as the agent makes them: exact, and free,
// where polling the registry would allocate and compete with the cycle it measures.
let renders = 0;
let wake: (() => void) | undefined;
const counter = agent.metrics.templateRenders;
const increment = counter.inc.bind(counter);
counter.inc = ((...args: Parameters<typeof counter.inc>) => {
  renders++;
  wake?.();
  increment(...args);
}) as typeof counter.inc;

/** Resolves once `target` renders have been counted. */
async function rendered(target: number): Promise<void> {
  while (renders < target) await new Promise<void>((resolve) => { wake = resolve; });
  wake = undefined;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function emit(record: Record<string, number | string>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

await agent.start();
const readySince = performance.now();
while (!agent.ready) {
  if (performance.now() - readySince > 180_000) throw new Error('the agent never became ready');
  await pause(5);
}
const templates = renders;
emit({ event: 'ready', templates });
const warmCycles = Math.min(10, cycles);
let last = 0;
/**
 * Collect until the heap stops shrinking (at most 6 full GCs, a turn of the event loop between two): one
 * collection leaves what weak callbacks and finalizers free only on the next, which made a single gc()'s figure
 * swing by 3 MiB. What remains is the live set; V8's compiled code (bytecode, optimised code and their metadata)
 * is reported beside it, since it grows while the JIT warms up and is not the agent's data.
 */
async function live(cycle: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  let heapUsed = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 6; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const now = process.memoryUsage().heapUsed;
    if (now >= heapUsed - 64 * 1024) {
      heapUsed = Math.min(heapUsed, now);
      break;
    }
    heapUsed = now;
  }
  const code = getHeapCodeStatistics();
  emit({ event: 'live', cycle, heapUsed, code: code.code_and_metadata_size + code.bytecode_and_metadata_size, rss: process.memoryUsage().rss });
}
const started = performance.now();
for (let cycle = 1; cycle <= cycles && performance.now() - started < budgetMs; cycle++) {
  const before = renders;
  const begin = performance.now();
  agent.trigger('bench');
  await rendered(before + templates);
  const ms = performance.now() - begin;
  // Let the serial runner settle so the next trigger starts a new cycle instead of folding into this one.
  await new Promise((resolve) => setImmediate(resolve));
  const memory = process.memoryUsage();
  emit({ cycle, ms, rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external });
  // The live heap (after a full GC) from cycle 10 on tells a leak from garbage not yet collected.
  if (cycle === warmCycles) await live(cycle);
  last = cycle;
}
await live(last);
await agent.stop();
emit({ event: 'done' });
