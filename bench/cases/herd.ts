// Fleet herd: 1,000 agents on the default schedule with the default splay. Each simulated agent runs the
// real startSchedule (agent/schedule/cron.ts: splayDelay with the real Math.random-backed systemRandom) on a
// simulated clock; the cron tick fires for the whole fleet at the same instant, as synchronised clocks make
// it, and each agent's cycle sends its requests in the second its splay ends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../agent/config/load.js';
import { startSchedule } from '../../agent/schedule/cron.js';
import { systemRandom } from '../../agent/util/clock.js';
import type { Clock, TimerHandle } from '../../agent/util/clock.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { fixed, max, median } from '../lib/stats.js';

/** A discrete-event clock: timers run in time order when `run` is called. */
class SimClock implements Clock {
  #now = 0;
  #timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.#now + ms, fn, live: true };
    this.#timers.push(timer);
    return { cancel: () => { timer.live = false; } };
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
  run(): void {
    const timers = this.#timers.sort((a, b) => a.at - b.at);
    this.#timers = [];
    for (const timer of timers) {
      this.#now = timer.at;
      if (timer.live) timer.fn();
    }
  }
}

/** Requests per 1-second bucket of one scheduled run of `agents` agents, over the splay window. */
function herd(agents: number, expression: string, splayMs: number, requestsPerCycle: number): number[] {
  const clock = new SimClock();
  const ticks: Array<() => void> = [];
  const starts: number[] = [];
  const stops: Array<() => void> = [];
  for (let agent = 0; agent < agents; agent++) {
    const schedule = startSchedule({
      expression,
      splayMs,
      clock,
      random: systemRandom,
      onRun: () => { starts.push(clock.now()); },
      cronFactory: (_expression, tick) => {
        ticks.push(tick);
        return { stop: () => undefined };
      },
    });
    stops.push(() => { schedule.stop(); });
  }
  for (const tick of ticks) tick();
  clock.run();
  for (const stopSchedule of stops) stopSchedule();
  const buckets = new Array<number>(Math.max(1, Math.ceil(splayMs / 1000))).fill(0);
  for (const at of starts) {
    const bucket = Math.min(buckets.length - 1, Math.floor(at / 1000));
    buckets[bucket] = (buckets[bucket] ?? 0) + requestsPerCycle;
  }
  return buckets;
}

export async function fleetHerd(options: BenchOptions): Promise<CaseResult> {
  const agents = 1000;
  const requestsPerCycle = 40;
  const trials = options.smoke ? 3 : 100;
  const cwd = await mkdtemp(join(tmpdir(), 'sa-bench-herd-'));
  let expression: string;
  let splayMs: number;
  try {
    const config = await loadConfig({ env: {}, cwd });
    expression = config.schedule;
    splayMs = config.splay;
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
  const ratios: number[] = [];
  const peaks: number[] = [];
  let example: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const buckets = herd(agents, expression, splayMs, requestsPerCycle);
    const total = buckets.reduce((sum, count) => sum + count, 0);
    const mean = total / buckets.length;
    peaks.push(max(buckets));
    ratios.push(max(buckets) / mean);
    if (trial === 0) example = buckets;
  }
  const withoutSplay = splayMs / 1000;
  const meanRate = (agents * requestsPerCycle) / Math.max(1, splayMs / 1000);
  return {
    rows: [{
      id: 'fleet-herd', figure: 'fleet herd', workload: `${agents.toLocaleString('en')} simulated agents on \`${expression}\`, splay ${splayMs / 1000} s (default)`, target: 'peak/mean requests per second ≤ 2',
      measured: `**${fixed(median(ratios), 2)}** (worst of ${trials}: ${fixed(max(ratios), 2)}); without splay ${fixed(withoutSplay, 0)}`, met: options.smoke ? undefined : max(ratios) <= 2,
    }],
    details: `### Fleet herd

${agents} agents, each with the real \`startSchedule\` (default schedule \`${expression}\` and splay ${splayMs} ms, read from
the configuration defaults by \`loadConfig\`), \`systemRandom\` (Math.random) and a simulated clock; the cron tick fires
for every agent at the same instant, and every run sends ${requestsPerCycle} requests (the 50-template workload's
Vault GETs) in the second its splay ends — a conservative model, since a real cycle spreads them over its duration.
Requests are bucketed per second over the ${splayMs / 1000} s window in which they fall; mean = ${fixed(meanRate, 0)} requests/s.
${trials} independent trials: peak/mean median ${fixed(median(ratios), 2)}, worst ${fixed(max(ratios), 2)}; peak
${fixed(median(peaks), 0)} requests/s (median). Without splay every agent would send in the same second: peak/mean
${fixed(withoutSplay, 0)} over the same window. One trial's buckets: ${example.join(' ')}.
`,
  };
}
