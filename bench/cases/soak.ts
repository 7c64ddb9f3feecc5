// RSS over many cycles: the real Agent class in a child process (bench/soak-child.ts, bundled as the bin is and
// started with the bin's node flags) against the Vault emulator in this one, so the emulator's memory is not
// counted. Two soaks: 1,000 cycles of the 50-template workload, and the 1,000-template workload for as many
// cycles as the time budget allows (at the target's 1.5 s a cycle, 1,000 of them would take 25 minutes).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundle, workerEntry } from '../../scripts/bundle.js';
import { startVaultEmulator } from '../../test/fakes/vault/index.js';
import { agentEnv, binFlags, root } from '../lib/agent.js';
import { spawnTimed } from '../lib/proc.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { mib } from '../lib/report.js';
import { MiB, fixed, median } from '../lib/stats.js';
import { vaultWorkload } from '../lib/workload.js';

interface Sample { cycle: number; ms: number; rss: number; heapUsed: number; external: number }

/** The live heap after full collections, and how much of it is V8's compiled code (bytecode, optimised code). */
interface Live { cycle: number; heapUsed: number; code: number }

export interface SoakResult {
  readonly templates: number;
  readonly secrets: number;
  readonly cycles: number;
  readonly requested: number;
  readonly seconds: number;
  readonly samples: Sample[];
  /** Median RSS of the first and last windows after warm-up, and the drift between them in %. */
  readonly first: number;
  readonly last: number;
  readonly drift: number;
  readonly heapDrift: number;
  readonly low: number;
  readonly high: number;
  readonly cycleMs: number;
  /** Heap used after full GCs once warm and at the end. */
  readonly live: Live[];
}

function window(samples: readonly Sample[], pick: (sample: Sample) => number): { first: number; last: number } {
  const size = Math.max(1, Math.floor(samples.length / 10));
  return { first: median(samples.slice(0, size).map(pick)), last: median(samples.slice(-size).map(pick)) };
}

export async function soakRun(templates: number, secrets: number, cycles: number, budgetMs: number, log: (message: string) => void): Promise<SoakResult> {
  const vault = await startVaultEmulator();
  const workload = await vaultWorkload(vault, { templates, secrets });
  const samples: Sample[] = [];
  const live: Live[] = [];
  let seconds = 0;
  const build = await mkdtemp(join(tmpdir(), 'sa-bench-soak-'));
  try {
    await bundle({ 'soak-child': join(root, 'bench/soak-child.ts'), ...workerEntry }, build);
    const child = spawnTimed(process.execPath, ['--expose-gc', ...binFlags(), join(build, 'soak-child.js'), workload.configPath, String(cycles), String(budgetMs)], { env: { ...workload.env, ...agentEnv }, cwd: root });
    const { code, ms } = await child.exited;
    seconds = ms / 1000;
    if (code !== 0) throw new Error(`the soak harness exited ${code}: ${child.stderr().slice(-2000)}`);
    for (const line of child.stdout().split('\n')) {
      if (!line.startsWith('{')) continue;
      const record = JSON.parse(line) as Partial<Sample> & { event?: string; code?: number };
      if (record.event === 'live' && typeof record.cycle === 'number' && typeof record.heapUsed === 'number') live.push({ cycle: record.cycle, heapUsed: record.heapUsed, code: record.code ?? 0 });
      else if (typeof record.cycle === 'number') samples.push(record as Sample);
    }
  } finally {
    await rm(build, { recursive: true, force: true });
    await workload.cleanup();
    await vault.close();
  }
  // Warm-up: the first 10 % of cycles (at least 3) fill caches, pools and the heap's young generation.
  const warm = samples.slice(Math.min(samples.length - 1, Math.max(3, Math.floor(samples.length / 10))));
  const rss = window(warm, (sample) => sample.rss);
  const heap = window(warm, (sample) => sample.heapUsed);
  const values = warm.map((sample) => sample.rss);
  const result = {
    templates, secrets, cycles: samples.length, requested: cycles, seconds, samples,
    first: rss.first, last: rss.last, drift: ((rss.last - rss.first) / rss.first) * 100, heapDrift: ((heap.last - heap.first) / heap.first) * 100,
    low: Math.min(...values), high: Math.max(...values), cycleMs: median(samples.map((sample) => sample.ms)), live,
  };
  log(`soak ${templates}/${secrets}: ${result.cycles} cycles in ${fixed(seconds, 0)} s, RSS ${mib(result.first)} → ${mib(result.last)} (${fixed(result.drift, 1)} %), cycle ${fixed(result.cycleMs, 0)} ms`);
  return result;
}

/** Every `step`-th sample's RSS in MiB, for the details. */
function trace(result: SoakResult, points = 12): string {
  const step = Math.max(1, Math.floor(result.samples.length / points));
  return result.samples.filter((_, index) => index % step === 0 || index === result.samples.length - 1).map((sample) => `${sample.cycle}: ${fixed(sample.rss / MiB, 0)}`).join(', ');
}

export async function soak(options: BenchOptions): Promise<CaseResult> {
  const small = await soakRun(50, 40, options.smoke ? 4 : 1000, options.smoke ? 20_000 : 110_000, options.log);
  const large = options.smoke ? await soakRun(40, 80, 4, 20_000, options.log) : await soakRun(1000, 2000, 1000, 130_000, options.log);
  const flat = (result: SoakResult): boolean => Math.abs(result.drift) <= 5;
  const describe = (result: SoakResult): string => `${result.templates.toLocaleString('en')}/${result.secrets.toLocaleString('en')}: ${result.cycles} cycles, ${mib(result.first, 0)} → ${mib(result.last, 0)} (**${result.drift >= 0 ? '+' : ''}${fixed(result.drift, 1)} %**)`;
  const liveText = (result: SoakResult): string => result.live.map((entry) => `${fixed(entry.heapUsed / MiB, 1)} MiB (cycle ${entry.cycle}; code ${fixed(entry.code / MiB, 1)})`).join(' → ') || 'n/a';
  const row = (result: SoakResult): string => `| ${result.templates} templates, ${result.secrets} paths | ${result.cycles} of ${result.requested} (${fixed(result.seconds, 0)} s) | ${fixed(result.cycleMs, 0)} ms | ${mib(result.first)} → ${mib(result.last)} (${fixed(result.drift, 1)} %) | ${mib(result.low)}–${mib(result.high)} | ${fixed(result.heapDrift, 1)} % | ${liveText(result)} | ${trace(result)} |`;
  // The live set without V8's compiled code: what the agent itself keeps. Code grows while the JIT optimises hot
  // functions and levels off; the rest must not grow with the number of cycles. Within ± 5 %, as RSS: heap
  // snapshots at cycles 10, 200, …, 1,000 found the agent's objects flat and only V8's own weak lists (dependent
  // code, prototype users: they keep nothing alive) growing, by 0.17 MiB over 1,000 cycles (docs/benchmarks.md).
  const first = small.live[0];
  const end = small.live.at(-1);
  const data = (entry: Live): number => entry.heapUsed - entry.code;
  const dataGrowth = first !== undefined && end !== undefined && first !== end ? ((data(end) - data(first)) / data(first)) * 100 : Number.NaN;
  const liveFlat = small.cycles >= 1000 && Math.abs(dataGrowth) <= 5;
  const liveMeasured = first !== undefined && end !== undefined && first !== end
    ? `${fixed(first.heapUsed / MiB, 1)} → ${fixed(end.heapUsed / MiB, 1)} MiB (cycle ${first.cycle} → ${end.cycle}); without V8's compiled code ${fixed(data(first) / MiB, 1)} → ${fixed(data(end) / MiB, 1)} MiB (**${dataGrowth >= 0 ? '+' : ''}${fixed(dataGrowth, 1)} %**), code ${fixed(first.code / MiB, 1)} → ${fixed(end.code / MiB, 1)} MiB`
    : 'not measured (node without --expose-gc)';
  return {
    rows: [{
      id: 'rss-flat', figure: 'one full cycle: RSS flat over 1,000 cycles', workload: '1,000 templates, 2,000 unique paths (and 50/40 for the full 1,000 cycles)', target: '± 5 %',
      measured: `${describe(large)}; ${describe(small)}`, met: options.smoke ? undefined : flat(small) && flat(large) && small.cycles >= 1000,
    }, {
      id: 'live-heap', figure: 'live heap after a full GC, cycle 10 → 1,000', workload: '50 templates, 40 unique Vault paths', target: 'flat: the agent\'s data (live heap less V8\'s compiled code) within ± 5 %',
      measured: liveMeasured, met: options.smoke ? undefined : liveFlat,
    }],
    details: `### RSS over many cycles

The real \`Agent\` class (bench/soak-child.ts: store, Vault backend, templates, scrubber, status, metrics, audit log
formatted and scrubbed then dropped; no listener) in its own process against the Vault emulator in the parent,
cycles back to back (\`agent.trigger\`, completion seen in \`template_renders_total\`). RSS from
\`process.memoryUsage()\` after each cycle; after a warm-up of 10 % of the cycles (at least 3), the median of the first
tenth of the remaining samples is compared with the median of the last tenth. The 1,000-template soak is bounded in
time (a cycle there takes seconds; 1,000 of them would not fit the benchmark's 10 minutes), so it runs as many
cycles as the budget allows; the 50-template soak runs the full 1,000. The harness is bundled with the bin's esbuild
options (scripts/bundle.ts) and started with the bin's node flags (\`${binFlags().join(' ')}\`) plus \`--expose-gc\`.
After cycle 10 and after the last cycle it collects until the heap stops shrinking (full GCs with a turn of the
event loop between them) and reports the heap still in use: the live set, which separates a leak (it grows) from
garbage V8 has not collected yet (RSS grows, the live set does not). \`code\` is the part of it that is V8's
compiled code (bytecode, optimised code and their metadata, \`v8.getHeapCodeStatistics()\`): it grows while the JIT
optimises the hot paths and levels off; the rest is the agent's data.

| workload | cycles | cycle (median) | RSS first → last window | range after warm-up | heapUsed drift | live heap after full GC | RSS (MiB) by cycle |
|---|---|---|---|---|---|---|---|
${row(large)}
${row(small)}
`,
  };
}
