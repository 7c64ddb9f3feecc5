// The built agent (dist/agent/main.js) as the benchmarks run it: `once` to exit, `run` until /health/ready,
// metrics over its listener. Baselines are plain node processes started the same way.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePort, metricValue } from '../../test/helpers/agent-process.js';
import type { Spawned } from './proc.js';
import { spawnTimed, until } from './proc.js';
import type { Workload } from './workload.js';

export { freePort, metricValue };

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const cli = join(root, 'dist/agent/main.js');

/** Extra environment for every agent process (not the baselines): `--agent-env NAME=value` of bench/run.ts. */
export const agentEnv: Record<string, string> = {};

/**
 * The node flags of the bin's first line (`#!/usr/bin/env -S node --max-semi-space-size=1`): every agent process
 * is started with them, as `npx secrets-agent` and the image's entrypoint start it, whatever node runs it.
 */
export function binFlags(): string[] {
  const first = readFileSync(cli, 'utf8').split('\n', 1)[0] ?? '';
  const words = first.startsWith('#!') ? first.slice(2).trim().split(/\s+/) : [];
  return words.slice(words.indexOf('node') + 1);
}

/** The node that runs the agent and its baselines; `--image-node PATH` adds a second one (see startup.ts). */
export const nodes: { image?: string } = {};

export function assertBuilt(): void {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm run bench does)`);
}

/** `secrets-agent once` on the workload; resolves with the exit code and the wall time from spawn to exit. */
export async function runOnce(workload: Workload, extraEnv: Record<string, string> = {}, node = process.execPath): Promise<{ code: number | null; ms: number; stderr: string }> {
  const spawned = spawnTimed(node, [...binFlags(), cli, 'once', '--config', workload.configPath], { env: { ...workload.env, ...agentEnv, ...extraEnv } });
  const { code, ms } = await spawned.exited;
  return { code, ms, stderr: spawned.stderr() };
}

export interface RunningAgent {
  readonly spawned: Spawned;
  readonly base: string;
  /** Wall time from spawn to the first 200 of /health/ready, in ms. */
  readonly readyMs: number;
}

/** `secrets-agent run --config … ` listening on `port`; resolves once /health/ready answers 200. */
export async function startRun(workload: Workload, port: number, options: { extraEnv?: Record<string, string>; pollMs?: number; timeoutMs?: number; onLine?: (line: string, at: number) => void; stderrFile?: string } = {}): Promise<RunningAgent> {
  const spawned = spawnTimed(process.execPath, [...binFlags(), cli, 'run', '--config', workload.configPath], { env: { ...workload.env, ...agentEnv, SECRETS_AGENT_LISTEN: `127.0.0.1:${port}`, ...options.extraEnv }, ...(options.stderrFile === undefined ? {} : { stderrFile: options.stderrFile }) });
  if (options.onLine) spawned.onLine(options.onLine);
  const base = `http://127.0.0.1:${port}`;
  let readyAt = 0;
  try {
    await until('/health/ready', async () => {
      if (spawned.child.exitCode !== null) throw new Error(`the agent exited with ${spawned.child.exitCode}: ${spawned.stderr().slice(-2000)}`);
      const response = await fetch(`${base}/health/ready`);
      await response.arrayBuffer();
      if (response.status !== 200) return false;
      readyAt = performance.now();
      return true;
    }, options.timeoutMs ?? 60_000, options.pollMs ?? 5);
  } catch (error) {
    spawned.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${spawned.stderr().slice(-2000)}`);
  }
  return { spawned, base, readyMs: readyAt - spawned.started };
}

export async function metrics(agent: RunningAgent): Promise<string> {
  return (await fetch(`${agent.base}/metrics`)).text();
}

const lastRefresh = new WeakMap<RunningAgent, number>();

/**
 * POST /v1/refresh (one cycle). The agent starts at most one refresh cycle per second (docs/operations.md), so
 * consecutive refreshes are spaced by a second here: a latency measured from the request is then the agent's
 * work, never the coalescing wait.
 */
/**
 * POST /v1/refresh, spaced 1.1 s from the previous one (the agent starts at most one on-demand cycle per second);
 * resolves with `performance.now()` at the moment the request was sent, after that wait.
 */
export async function refresh(agent: RunningAgent): Promise<number> {
  // The first refresh waits a second too: the start cycle counts.
  const wait = lastRefresh.has(agent) ? (lastRefresh.get(agent) ?? 0) + 1100 - Date.now() : 1100;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  lastRefresh.set(agent, Date.now());
  const sent = performance.now();
  const response = await fetch(`${agent.base}/v1/refresh`, { method: 'POST' });
  await response.arrayBuffer();
  if (response.status !== 202) throw new Error(`POST /v1/refresh answered ${response.status}`);
  return sent;
}

/** Sum of template_renders_total over every template and result. */
export async function renders(agent: RunningAgent): Promise<number> {
  return metricValue(await metrics(agent), 'template_renders_total');
}

/** Spawn `node -e 0` and resolve with its wall time (spawn → exit) in ms. */
export async function nodeBaseline(node = process.execPath): Promise<number> {
  const spawned = spawnTimed(node, ['-e', '0']);
  return (await spawned.exited).ms;
}

/** A bare node process holding an http server on loopback (the RSS and idle-CPU baseline). */
export async function httpBaseline(): Promise<Spawned> {
  const source = "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', () => process.stderr.write('listening\\n'));";
  const spawned = spawnTimed(process.execPath, ['-e', source]);
  await until('the baseline http server', () => spawned.stderr().includes('listening'), 10_000);
  return spawned;
}
