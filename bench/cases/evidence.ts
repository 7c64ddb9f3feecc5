// The evidence behind the gaps: what each dependency costs to import (time and RSS, each in a fresh
// process), and CPU profiles of `secrets-agent once` on the start-up and the scale workloads.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVaultEmulator } from '../../test/fakes/vault/index.js';
import { agentEnv, binFlags, cli, root } from '../lib/agent.js';
import { spawnTimed } from '../lib/proc.js';
import { summarizeProfile } from '../lib/profile.js';
import type { ProfileSummary } from '../lib/profile.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { MiB, fixed, median } from '../lib/stats.js';
import { vaultWorkload } from '../lib/workload.js';

const DEPENDENCIES = ['commander', 'zod', 'yaml', 'pino', 'handlebars', 'node-vault', '@aws-sdk/client-secrets-manager', 'prom-client', 'node-cron', 'chokidar'];

/** Import `specifier` in a fresh node (cwd = the repository) and return the import's ms and the RSS after it. */
async function importCost(specifier: string): Promise<{ ms: number; rss: number }> {
  const source = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(JSON.stringify({ ms: performance.now() - t, rss: process.memoryUsage().rss }));`;
  const spawned = spawnTimed(process.execPath, ['--input-type=module', '-e', source], { cwd: root });
  const { code } = await spawned.exited;
  if (code !== 0) throw new Error(`importing ${specifier} failed: ${spawned.stderr().slice(-500)}`);
  return JSON.parse(spawned.stdout()) as { ms: number; rss: number };
}

async function profileOnce(configPath: string, env: Record<string, string>): Promise<ProfileSummary> {
  const dir = await mkdtemp(join(tmpdir(), 'sa-bench-prof-'));
  try {
    const spawned = spawnTimed(process.execPath, [...binFlags(), '--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', dir, cli, 'once', '--config', configPath], { env: { ...env, ...agentEnv }, stderrFile: join(dir, 'stderr.log') });
    const { code } = await spawned.exited;
    if (code !== 0) throw new Error(`profiled once exited ${code}: ${spawned.stderr().slice(-1000)}`);
    const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('node --cpu-prof wrote no profile');
    return summarizeProfile(join(dir, file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function profileTable(summary: ProfileSummary, rows = 14): string {
  const lines = ['| where | ms | share |', '|---|---|---|'];
  for (const [name, ms] of summary.categories.slice(0, rows)) lines.push(`| ${name} | ${fixed(ms, 0)} | ${fixed((ms / summary.totalMs) * 100, 0)} % |`);
  lines.push('', `Top functions (self time): ${summary.functions.slice(0, 8).map(([name, ms]) => `\`${name}\` ${fixed(ms, 0)} ms`).join('; ')}.`);
  return lines.join('\n');
}

export async function evidence(options: BenchOptions): Promise<CaseResult> {
  const runs = options.smoke ? 1 : 3;
  const specifiers = options.smoke ? ['commander'] : DEPENDENCIES;
  const empty: number[] = [];
  const emptyRss: number[] = [];
  for (let run = 0; run < runs; run++) {
    const cost = await importCost('node:os');
    empty.push(cost.ms);
    emptyRss.push(cost.rss);
  }
  const costs: Array<{ name: string; ms: number; rss: number }> = [];
  for (const specifier of [...specifiers, join(root, 'dist/agent/cli/program.js')]) {
    const samples = [];
    for (let run = 0; run < runs; run++) samples.push(await importCost(specifier));
    costs.push({ name: specifier.startsWith('/') ? 'the whole CLI (dist/agent/cli/program.js)' : specifier, ms: median(samples.map((s) => s.ms)), rss: median(samples.map((s) => s.rss)) });
  }
  options.log('evidence: import costs measured');

  const vault = await startVaultEmulator();
  const profiles: Array<{ title: string; summary: ProfileSummary }> = [];
  try {
    const sizes = options.smoke ? [[50, 40]] : [[50, 40], [1000, 2000]];
    for (const [templates = 0, secrets = 0] of sizes) {
      const workload = await vaultWorkload(vault, { templates, secrets });
      try {
        profiles.push({ title: `\`secrets-agent once\`, ${templates} templates over ${secrets} Vault paths`, summary: await profileOnce(workload.configPath, workload.env) });
      } finally {
        await workload.cleanup();
      }
      options.log(`evidence: profiled once ${templates}/${secrets}`);
    }
  } finally {
    await vault.close();
  }
  const baseRss = median(emptyRss);
  return {
    rows: [],
    details: `### Evidence: import costs and CPU profiles

What each dependency costs to import on its own, in a fresh \`node\` (median of ${runs}; the import of a built-in
module costs ${fixed(median(empty), 1)} ms and leaves RSS at ${fixed(baseRss / MiB, 1)} MiB):

| import | ms | RSS after | RSS added |
|---|---|---|---|
${costs.map((cost) => `| ${cost.name} | ${fixed(cost.ms, 0)} | ${fixed(cost.rss / MiB, 1)} MiB | +${fixed((cost.rss - baseRss) / MiB, 1)} MiB |`).join('\n')}

${profiles.map((profile) => `CPU profile (\`node --cpu-prof\`, 250 µs sampling, stderr to a file) of ${profile.title}, ${fixed(profile.summary.totalMs, 0)} ms sampled:\n\n${profileTable(profile.summary)}`).join('\n\n')}
`,
  };
}
