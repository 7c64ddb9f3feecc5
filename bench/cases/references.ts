// One template with 50,000 references over 2,000 Vault secrets, rendered by `secrets-agent once` (the design's
// "50,000 references render within 300 MiB"): wall time from spawn to exit and the process's peak RSS. The template
// is format raw (the only format whose output limit, 1 MiB, holds 50,000 values) and fits the 1 MiB template limit:
// `{{secret "123/k"}}` lines (at most 20 bytes each), values of 12 characters.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startVaultEmulator } from '../../test/fakes/vault/index.js';
import { agentEnv, binFlags, cli } from '../lib/agent.js';
import { peakRssBytes, sleep, spawnTimed } from '../lib/proc.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { mib } from '../lib/report.js';
import { MiB, fixed, median, spread } from '../lib/stats.js';
import { scratchBase, value } from '../lib/workload.js';
import type { Workload } from '../lib/workload.js';

const TARGET_MIB = 300;
const TARGET_MS = 3000;

/** The workload: `secrets` Vault secrets `<i>` with one key `k`, and one raw template reading `references` of them in turn. */
async function referencesWorkload(address: string, token: string, references: number, secrets: number): Promise<Workload> {
  const dir = await mkdtemp(join(scratchBase(), 'sa-bench-refs-'));
  const templatesDir = join(dir, 'templates');
  const outputDir = join(dir, 'out');
  await mkdir(templatesDir, { recursive: true });
  const lines: string[] = [];
  for (let r = 0; r < references; r++) lines.push(`{{secret "${r % secrets}/k"}}`);
  await writeFile(join(templatesDir, 'refs.txt.hbs'), `${lines.join('\n')}\n`);
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, [`templates: ${templatesDir}`, `output: ${outputDir}`, 'listen: ""', 'log: { level: warn }', ''].join('\n'));
  return {
    dir, templatesDir, outputDir, configPath, touchDir: dir,
    env: { VAULT_ADDR: address, VAULT_TOKEN: token },
    destinations: ['refs.txt'],
    secrets: Array.from({ length: secrets }, (_, s) => String(s)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Run `once` and poll its VmHWM every 5 ms until it exits: a lower bound that can miss only its last 5 ms. */
async function measuredOnce(workload: Workload): Promise<{ ms: number; peak: number }> {
  // Started as runOnce starts the agent (the bin's node flags), with its pid at hand for /proc.
  const spawned = spawnTimed(process.execPath, [...binFlags(), cli, 'once', '--config', workload.configPath], { env: { ...workload.env, ...agentEnv } });
  let peak = 0;
  const state = { exited: false };
  const result = spawned.exited.finally(() => {
    state.exited = true;
  });
  while (!state.exited) {
    const hwm = peakRssBytes(spawned.pid);
    if (Number.isFinite(hwm) && hwm > peak) peak = hwm;
    await sleep(5);
  }
  const { code, ms } = await result;
  if (code !== 0) throw new Error(`secrets-agent once exited ${code}: ${spawned.stderr().slice(-2000)}`);
  return { ms, peak };
}

export async function references(options: BenchOptions): Promise<CaseResult> {
  const count = options.smoke ? 500 : 50_000;
  const secrets = options.smoke ? 20 : 2000;
  const runs = options.smoke ? 1 : 5;
  const vault = await startVaultEmulator();
  for (let s = 0; s < secrets; s++) vault.setSecret(String(s), { k: value(s, 'k', 0, 10) });
  const workload = await referencesWorkload(vault.address, vault.token, count, secrets);
  // The baseline: the same secrets, each referenced once, so the difference is what the extra references cost.
  const baseline = await referencesWorkload(vault.address, vault.token, secrets, secrets);
  const times: number[] = [];
  const peaks: number[] = [];
  const baseTimes: number[] = [];
  const basePeaks: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      await rm(baseline.outputDir, { recursive: true, force: true });
      const base = await measuredOnce(baseline);
      baseTimes.push(base.ms);
      basePeaks.push(base.peak);
      await rm(workload.outputDir, { recursive: true, force: true });
      const { ms, peak } = await measuredOnce(workload);
      times.push(ms);
      peaks.push(peak);
      options.log(`references run ${run + 1}/${runs}: once ${fixed(ms, 0)} ms, peak RSS ${mib(peak)}; with ${secrets} references ${fixed(base.ms, 0)} ms, ${mib(base.peak)}`);
    }
  } finally {
    await workload.cleanup();
    await baseline.cleanup();
    await vault.close();
  }
  const peak = median(peaks);
  const ms = median(times);
  const perReference = (peak - median(basePeaks)) / (count - secrets);
  const judge = (ok: boolean): boolean | undefined => (options.smoke ? undefined : ok);
  const workloadText = `one template, ${count.toLocaleString('en-US')} references over ${secrets.toLocaleString('en-US')} Vault secrets`;
  return {
    rows: [
      {
        id: 'references',
        figure: 'one template of many references (`once`)',
        workload: workloadText,
        target: `≤ ${TARGET_MIB} MiB peak RSS, ≤ ${TARGET_MS / 1000} s`,
        measured: `**${mib(peak)}** peak, **${fixed(ms / 1000, 1)} s**; ${fixed(perReference / 1024, 1)} KiB per reference over ${secrets.toLocaleString('en-US')} references`,
        met: judge(peak <= TARGET_MIB * MiB && ms <= TARGET_MS),
      },
    ],
    details: `### One template of ${count.toLocaleString('en-US')} references (${workloadText})

Each of ${runs} runs spawns \`secrets-agent once\` into an empty output directory and polls its VmHWM (\`/proc/<pid>/status\`)
every 5 ms until it exits; the time is spawn → exit 0. The template is \`{{secret "<i>/k"}}\` lines (format raw, whose
1 MiB output limit holds the values), each of the ${secrets.toLocaleString('en-US')} secrets read from the Vault emulator once.

Each run also renders the baseline, the same ${secrets.toLocaleString('en-US')} secrets referenced once each: the difference of
the peaks, divided by the ${(count - secrets).toLocaleString('en-US')} extra references, is the memory a reference costs.

| sample | ${count.toLocaleString('en-US')} references | ${secrets.toLocaleString('en-US')} references (baseline) |
|---|---|---|
| \`once\` wall time | ${spread(times, 0, ' ms')} | ${spread(baseTimes, 0, ' ms')} |
| peak RSS (VmHWM) | ${spread(peaks.map((v) => v / MiB), 1, ' MiB')} | ${spread(basePeaks.map((v) => v / MiB), 1, ' MiB')} |
`,
  };
}
