// Idle: RSS and CPU of rendered, ready agents with no trigger (a schedule that does not fire, no file changes,
// no requests), next to bare node http servers measured over the same window. Three of each run side by side
// (they are idle, so they do not compete), giving a median of three. CPU is utime + stime from
// /proc/<pid>/stat; RSS is VmRSS at the end of the window, once V8's memory reducer has run after the render.
import { performance } from 'node:perf_hooks';
import { startVaultEmulator } from '../../test/fakes/vault/index.js';
import { freePort, httpBaseline, startRun } from '../lib/agent.js';
import type { RunningAgent } from '../lib/agent.js';
import type { Spawned } from '../lib/proc.js';
import { clockTicks, cpuSeconds, rssBytes, sleep, stop } from '../lib/proc.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { mib } from '../lib/report.js';
import { MiB, fixed, median, spread } from '../lib/stats.js';
import type { Workload } from '../lib/workload.js';
import { vaultWorkload } from '../lib/workload.js';

const TEMPLATES = 50;
const SECRETS = 40;

export async function idle(options: BenchOptions): Promise<CaseResult> {
  const count = options.smoke ? 1 : 3;
  const settleMs = options.smoke ? 500 : 20_000;
  const windowMs = options.smoke ? 1500 : 60_000;
  const vault = await startVaultEmulator();
  const workloads: Workload[] = [];
  const agents: RunningAgent[] = [];
  const servers: Spawned[] = [];
  const agentCpu: number[] = [];
  const baseCpu: number[] = [];
  const settleCpu: number[] = [];
  const rssEarly: number[] = [];
  const rssLate: number[] = [];
  const baseRss: number[] = [];
  let requests = 0;
  let seconds = Number.NaN;
  try {
    for (let i = 0; i < count; i++) {
      const workload = await vaultWorkload(vault, { templates: TEMPLATES, secrets: SECRETS });
      workloads.push(workload);
      agents.push(await startRun(workload, await freePort()));
      servers.push(await httpBaseline());
    }
    const readyCpu = agents.map((agent) => cpuSeconds(agent.spawned.pid));
    for (const agent of agents) rssEarly.push(rssBytes(agent.spawned.pid));
    options.log(`idle: ${count} agents ready; settling ${settleMs / 1000} s, then measuring ${windowMs / 1000} s`);
    await sleep(settleMs);
    vault.counters.reset();
    const agentStart = agents.map((agent) => cpuSeconds(agent.spawned.pid));
    agentStart.forEach((value, i) => settleCpu.push(value - (readyCpu[i] ?? 0)));
    const baseStart = servers.map((server) => cpuSeconds(server.pid));
    const started = performance.now();
    await sleep(windowMs);
    seconds = (performance.now() - started) / 1000;
    agents.forEach((agent, i) => agentCpu.push(((cpuSeconds(agent.spawned.pid) - (agentStart[i] ?? 0)) / seconds) * 100));
    servers.forEach((server, i) => baseCpu.push(((cpuSeconds(server.pid) - (baseStart[i] ?? 0)) / seconds) * 100));
    for (const agent of agents) rssLate.push(rssBytes(agent.spawned.pid));
    for (const server of servers) baseRss.push(rssBytes(server.pid));
    requests = vault.counters.count();
  } finally {
    for (const server of servers) await stop(server);
    for (const agent of agents) await stop(agent.spawned);
    for (const workload of workloads) await workload.cleanup();
    await vault.close();
  }
  const resolution = (1 / clockTicks() / seconds) * 100;
  const cpu = median(agentCpu);
  const ratio = median(rssLate) / median(baseRss);
  const judge = (ok: boolean): boolean | undefined => (options.smoke ? undefined : ok);
  return {
    rows: [
      { id: 'rss-idle', figure: 'RSS after first render, idle', workload: `${TEMPLATES} templates, ${SECRETS} unique Vault paths`, target: '≤ 1.5 × bare node + http server', measured: `${mib(median(rssLate))} = **${fixed(ratio, 2)} ×** (baseline ${mib(median(baseRss))}); right after the render ${mib(median(rssEarly))} = ${fixed(median(rssEarly) / median(baseRss), 2)} ×`, met: judge(ratio <= 1.5) },
      { id: 'idle-cpu', figure: 'idle CPU', workload: `${fixed(seconds, 0)} s, no triggers`, target: '≤ 0.2 % of one core', measured: `**${fixed(cpu, 3)} %**; bare node + http server ${fixed(median(baseCpu), 3)} %`, met: judge(cpu <= 0.2) },
    ],
    details: `### Idle: memory and CPU

${count} × \`secrets-agent run\` (${TEMPLATES} templates over ${SECRETS} Vault paths, schedule \`0 0 1 1 *\` so no scheduled cycle
falls in the window, listener on, never scraped) and ${count} bare node http servers, side by side. After the first
render: ${fixed(settleMs / 1000, 0)} s to settle (the CPU the agents spent there — post-render GC and V8's memory reducer —
is reported but not judged), then utime + stime from \`/proc/<pid>/stat\` over ${fixed(seconds, 1)} s; one clock tick
(1/${clockTicks()} s) is ${fixed(resolution, 3)} % over this window. Vault requests during the window: ${requests}.

| | agent | bare node + http server |
|---|---|---|
| CPU over the window | ${spread(agentCpu, 3, ' %')} | ${spread(baseCpu, 3, ' %')} |
| CPU while settling (${fixed(settleMs / 1000, 0)} s) | ${spread(settleCpu.map((value) => value * 1000), 0, ' ms')} | |
| RSS when ready | ${spread(rssEarly.map((value) => value / MiB), 1, ' MiB')} | |
| RSS at the end of the window | ${spread(rssLate.map((value) => value / MiB), 1, ' MiB')} | ${spread(baseRss.map((value) => value / MiB), 1, ' MiB')} |
`,
  };
}
