// Change → new bytes on disk: one template, its secret changed in Vault, a cycle requested; the latency is
// from the moment the emulator finished answering the agent's GET to the moment the new file is in place
// (inotify on the output directory, then a read that finds the new value).
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startVaultEmulator } from '../../test/fakes/vault/index.js';
import { freePort, refresh, startRun } from '../lib/agent.js';
import { sleep, stop } from '../lib/proc.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { fixed, max, median, spread } from '../lib/stats.js';
import { secretData, value, vaultWorkload } from '../lib/workload.js';

/** Resolves with performance.now() when `file` first holds `needle` (inotify, with a 10 ms poll as a safety net). */
function fileHolds(dir: string, file: string, needle: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = (): void => {
      void readFile(join(dir, file), 'utf8').then((text) => {
        if (!done && text.includes(needle)) {
          done = true;
          const at = performance.now();
          finish();
          resolve(at);
        }
      }, () => undefined);
    };
    const watcher = watch(dir, () => {
      check();
    });
    const poll = setInterval(check, 10);
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`${file} never held the new value`));
    }, timeoutMs);
    function finish(): void {
      done = true;
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
    }
  });
}

export async function change(options: BenchOptions): Promise<CaseResult> {
  const runs = options.smoke ? 2 : 15;
  const vault = await startVaultEmulator();
  const workload = await vaultWorkload(vault, { templates: 1, secrets: 1 });
  const afterFetch: number[] = [];
  const afterRequest: number[] = [];
  const requests: number[] = [];
  // The emulator calls counters.enter() per request and its result when the response closes.
  let answered = 0;
  const enter = vault.counters.enter.bind(vault.counters);
  vault.counters.enter = () => {
    const leave = enter();
    return () => {
      leave();
      answered = performance.now();
    };
  };
  try {
    const agent = await startRun(workload, await freePort());
    try {
      const path = workload.secrets[0] ?? '';
      const destination = workload.destinations[0] ?? '';
      for (let generation = 1; generation <= runs; generation++) {
        await sleep(50);
        vault.setSecret(path, secretData(0, generation));
        const landed = fileHolds(workload.outputDir, destination, value(0, 'api_key', generation), 10_000);
        vault.counters.reset();
        // From the moment the POST is sent: refresh() first waits out the agent's one-cycle-per-second spacing.
        const requested = await refresh(agent);
        const at = await landed;
        afterFetch.push(at - answered);
        afterRequest.push(at - requested);
        requests.push(vault.counters.count());
      }
    } finally {
      await stop(agent.spawned);
    }
  } finally {
    vault.counters.enter = enter;
    await workload.cleanup();
    await vault.close();
  }
  const latency = median(afterFetch);
  return {
    rows: [{
      id: 'change-latency', figure: 'change → new bytes on disk, after the fetch returns', workload: '1 template', target: '≤ 50 ms',
      measured: `**${fixed(latency, 1)} ms** (max ${fixed(max(afterFetch), 1)} ms); ${fixed(median(afterRequest), 1)} ms from \`POST /v1/refresh\``, met: options.smoke ? undefined : latency <= 50,
    }],
    details: `### Change → new bytes on disk (1 template)

${runs} times: a new version of the template's secret is written to the Vault emulator, \`POST /v1/refresh\` is sent, and
the time is taken when the emulator has finished answering the agent's GET (the fetch returns) and when the
destination holds the new value (inotify on the output directory, confirmed by reading the file; a 10 ms poll as a
safety net). Requests per cycle: ${[...new Set(requests)].join(', ')}.

| from | to the new bytes on disk |
|---|---|
| the GET answered | ${spread(afterFetch, 1, ' ms')} |
| \`POST /v1/refresh\` sent | ${spread(afterRequest, 1, ' ms')} |
`,
  };
}
