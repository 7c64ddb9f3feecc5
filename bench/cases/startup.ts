// Cold start, RSS shortly after the first render, and the Vault requests of the first and second cycle, for
// 50 templates over 40 unique Vault secrets. Every run is interleaved with its baselines (`node -e 0`; a bare
// node holding an http server), so the ratios compare processes started under the same conditions.
import { rm } from 'node:fs/promises';
import { startVaultEmulator } from '../../test/fakes/vault/index.js';
import type { VaultEmulator } from '../../test/fakes/vault/index.js';
import { execFileSync } from 'node:child_process';
import { binFlags, freePort, httpBaseline, nodeBaseline, nodes, refresh, renders, runOnce, startRun } from '../lib/agent.js';
import { rssBytes, sleep, stop, until } from '../lib/proc.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { mib } from '../lib/report.js';
import { fixed, median, spread, MiB } from '../lib/stats.js';
import { vaultWorkload } from '../lib/workload.js';

const TEMPLATES = 50;
const SECRETS = 40;

interface Counts { kv: number; metadata: number; mounts: number; token: number; other: number }

function counts(vault: VaultEmulator): Counts {
  const out: Counts = { kv: 0, metadata: 0, mounts: 0, token: 0, other: 0 };
  for (const request of vault.counters.requests) {
    if (request.route === 'kv' && request.path.startsWith('secret/metadata/')) out.metadata++;
    else if (request.route === 'kv') out.kv++;
    else if (request.route === 'mounts') out.mounts++;
    else if (request.route === 'lookup-self' || request.route === 'renew-self') out.token++;
    else out.other++;
  }
  return out;
}

function show(c: Counts): string {
  return `${c.kv} KV reads + ${c.mounts} mount lookup + ${c.token} token lookup${c.metadata > 0 ? ` + ${c.metadata} KV metadata reads` : ''}${c.other > 0 ? ` + ${c.other} other` : ''}`;
}

/** Resolves once the emulator has received no request for 300 ms. */
async function quiet(vault: VaultEmulator): Promise<void> {
  let seen = -1;
  let since = 0;
  await until('Vault to fall quiet', () => {
    const now = vault.counters.requests.length;
    if (now !== seen) {
      seen = now;
      since = Date.now();
    }
    return Date.now() - since >= 300;
  }, 30_000, 20);
}

export async function startup(options: BenchOptions): Promise<CaseResult> {
  const runs = options.smoke ? 1 : 7;
  const idleMs = options.smoke ? 300 : 3000;
  const vault = await startVaultEmulator();
  const workload = await vaultWorkload(vault, { templates: TEMPLATES, secrets: SECRETS });
  const base: number[] = [];
  const once: number[] = [];
  const ready: number[] = [];
  const rss: number[] = [];
  const baseRss: number[] = [];
  const imageBase: number[] = [];
  const imageOnce: number[] = [];
  const image = nodes.image;
  const imageVersion = image === undefined ? undefined : execFileSync(image, ['--version'], { encoding: 'utf8' }).trim();
  let onceCounts: Counts | undefined;
  let firstCycle: Counts | undefined;
  let secondCycle: Counts | undefined;
  try {
    // One warm-up of each, not counted: the first spawn pays for the page cache.
    await nodeBaseline();
    await runOnce(workload);
    if (image !== undefined) {
      // The image's node fills its compile cache (docs/docker.md) on its first start, as a container's first start does.
      await nodeBaseline(image);
      await runOnce(workload, {}, image);
    }
    for (let run = 0; run < runs; run++) {
      base.push(await nodeBaseline());
      await rm(workload.outputDir, { recursive: true, force: true });
      vault.counters.reset();
      const result = await runOnce(workload);
      if (result.code !== 0) throw new Error(`secrets-agent once exited ${result.code}: ${result.stderr.slice(-2000)}`);
      once.push(result.ms);
      onceCounts ??= counts(vault);
      if (image !== undefined) {
        imageBase.push(await nodeBaseline(image));
        await rm(workload.outputDir, { recursive: true, force: true });
        const onImage = await runOnce(workload, {}, image);
        if (onImage.code !== 0) throw new Error(`secrets-agent once on ${image} exited ${onImage.code}: ${onImage.stderr.slice(-2000)}`);
        imageOnce.push(onImage.ms);
      }

      await rm(workload.outputDir, { recursive: true, force: true });
      vault.counters.reset();
      const agent = await startRun(workload, await freePort());
      try {
        ready.push(agent.readyMs);
        if (firstCycle === undefined) {
          // Requests a cycle sets off may still be in flight when it reports ready: count once they stop.
          await quiet(vault);
          firstCycle = counts(vault);
          vault.counters.reset();
          const before = await renders(agent);
          await refresh(agent);
          await until('the second cycle', async () => (await renders(agent)) >= before + TEMPLATES, 30_000, 20);
          await quiet(vault);
          secondCycle = counts(vault);
        }
        const server = await httpBaseline();
        await sleep(idleMs);
        rss.push(rssBytes(agent.spawned.pid));
        baseRss.push(rssBytes(server.pid));
        await stop(server);
      } finally {
        await stop(agent.spawned);
      }
      options.log(`startup run ${run + 1}/${runs}: node -e 0 ${fixed(base.at(-1) ?? 0)} ms, once ${fixed(once.at(-1) ?? 0)} ms, run→ready ${fixed(ready.at(-1) ?? 0)} ms, RSS ${mib(rss.at(-1) ?? 0)} vs ${mib(baseRss.at(-1) ?? 0)}`);
    }
  } finally {
    await workload.cleanup();
    await vault.close();
  }
  const ratioOnce = median(once) / median(base);
  const ratioReady = median(ready) / median(base);
  const ratioImage = imageOnce.length > 0 ? median(imageOnce) / median(imageBase) : Number.NaN;
  const thisNode = process.version;
  const coldMeasured = `${imageVersion === undefined ? '' : `${imageVersion} (the image's): \`once\` ${fixed(median(imageOnce), 0)} ms = **${fixed(ratioImage, 1)} ×** (\`node -e 0\` ${fixed(median(imageBase), 1)} ms); `}${thisNode}: \`once\` ${fixed(median(once), 0)} ms = ${imageVersion === undefined ? '**' : ''}${fixed(ratioOnce, 1)} ×${imageVersion === undefined ? '**' : ''} (\`node -e 0\` ${fixed(median(base), 1)} ms), \`run\` → ready ${fixed(median(ready), 0)} ms = ${fixed(ratioReady, 1)} ×${imageVersion === undefined ? "; the image's Node not measured (--image-node)" : ''}`;
  const judge = (ok: boolean): boolean | undefined => (options.smoke ? undefined : ok);
  const none: Counts = { kv: 0, metadata: 0, mounts: 0, token: 0, other: 0 };
  const first = firstCycle ?? none;
  const second = secondCycle ?? none;
  const requestsOk = first.kv === SECRETS && first.mounts === 1 && second.kv === SECRETS && second.mounts === 0 && first.other + first.metadata === 0 && second.other + second.metadata === 0;
  const extra = (c: Counts): string => (c.metadata > 0 ? ` + **${c.metadata} metadata reads**` : '');
  const workloadText = `${TEMPLATES} templates, ${SECRETS} unique Vault paths`;
  return {
    rows: [
      { id: 'cold-start', figure: 'cold start `once` → all files written', workload: workloadText, target: "≤ 6 × `node -e 0` on the image's Node; Node 20 reported", measured: coldMeasured, met: judge((imageVersion === undefined ? ratioOnce : ratioImage) <= 6) },
      { id: 'vault-requests', figure: 'Vault requests in one cycle', workload: 'same', target: `= ${SECRETS} (+1 mount lookup, first cycle only)`, measured: `first cycle ${first.kv} + ${first.mounts} mount lookup${extra(first)} (+${first.token} token lookup at start); second ${second.kv} + ${second.mounts}${extra(second)}`, met: judge(requestsOk) },
    ],
    details: `### Start-up, Vault requests (${workloadText})

Each of ${runs} runs (after one unmeasured warm-up) spawns \`node -e 0\`, then \`secrets-agent once\` into an empty output
directory (spawn → exit 0, every file written)${imageVersion === undefined ? '' : `, then both again on the image's node (${imageVersion}, \`--image-node\`; its compile cache warm, as from a container's second start)`}, then \`secrets-agent run\` into an empty output directory (spawn → first
200 of \`/health/ready\`, polled every 5 ms), then — with the agent idle for ${idleMs} ms — a bare \`node\` holding an http
server on loopback, and reads both processes' VmRSS from \`/proc/<pid>/status\`. The agent is started as the bin
starts it: node ${process.version} with the bin's flags (\`${binFlags().join(' ')}\`) and the bundle dist/agent/main.js. Output on ${workload.dir.startsWith('/dev/shm') ? 'tmpfs (/dev/shm)' : 'the temp directory'}.

| sample | median (min–max) |
|---|---|
| \`node -e 0\` | ${spread(base, 1, ' ms')} |
| \`secrets-agent once\` | ${spread(once, 0, ' ms')} |
${imageVersion === undefined ? '' : `| ${imageVersion}: \`node -e 0\` | ${spread(imageBase, 1, ' ms')} |
| ${imageVersion}: \`secrets-agent once\` | ${spread(imageOnce, 0, ' ms')} |
`}
| \`secrets-agent run\` → ready | ${spread(ready, 0, ' ms')} |
| agent RSS ${idleMs} ms after the first render (the idle RSS row is measured later, in the idle case) | ${spread(rss.map((v) => v / MiB), 1, ' MiB')} (${fixed(median(rss) / median(baseRss), 2)} ×) |
| bare node + http server RSS | ${spread(baseRss.map((v) => v / MiB), 1, ' MiB')} |

Vault emulator counters (requests received): \`once\` (one process, one cycle): ${show(onceCounts ?? first)}; \`run\` first
cycle: ${show(first)}; second cycle (\`POST /v1/refresh\`): ${show(second)}. The agent reads per secret path (\`a/b\` for
\`a/b/key\`), so the ${TEMPLATES} templates' ${SECRETS} secrets cost ${SECRETS} GETs however many keys and templates share them.
`,
  };
}
