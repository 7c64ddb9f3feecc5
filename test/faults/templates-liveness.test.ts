// No template, however hostile, keeps /health/live from answering within 1 s (docs/templates.md "Limits"). The built
// agent runs with its templates directory watched; the worst templates are dropped into it — beyond the limits
// (7,000 nested blocks, a 7,000-link else-if chain, 1 MiB + 1, 2^64 #each iterations) and at them (64 levels around
// 1 MiB and 1,800 expressions, 2,000 expressions, 50,000 references, a YAML file at the token limit) — while /health/live is polled
// every 100 ms. On main, the 7,000-level template alone held the event loop for about 40 s.
// Needs `npm run build` (npm test runs it first).
import { get } from 'node:http';
import { readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { scratch } from '../helpers/cli.js';
import { eventually, freePort, startAgent } from '../helpers/agent-process.js';

const MiB = 1024 * 1024;
/**
 * The product promises 1 s, and the figures are logged (idle machine: worst probe 0.3-0.7 s). What the test asserts
 * is a regression bound, 10 s: with both cores kept busy by other work a probe was measured at 2.9 s, because the
 * agent then gets a fraction of a core, and a test must not hang on a budget a starved machine cannot keep
 * (docs/testing.md). The regressions it exists for are far above it: on main, one template held the loop 19-40 s.
 */
const LIVENESS_BOUND_MS = 10_000;

/** Lines of `{{secret}}` padded with text so the whole template is about 1 MiB. */
function refs(count: number, line: (i: number) => string, size: number): string {
  const pad = Math.max(0, Math.floor(size / count) - line(0).length - 1);
  return Array.from({ length: count }, (_, i) => `${line(i)}${'x'.repeat(pad)}\n`).join('');
}

/** Each template, and what shows that the agent has handled it: its file written, or its refusal logged. */
const hostile: ReadonlyArray<{ name: string; text: string; handled: string }> = [
  // Beyond the limits: refused by the scan or the render budget.
  { name: 'deep.txt.hbs', text: `${'{{#if true}}'.repeat(7000)}x${'{{/if}}'.repeat(7000)}`, handled: 'deep.txt.hbs:1: blocks nest deeper' },
  { name: 'chain.txt.hbs', text: `{{#if a}}${'{{else if b}}'.repeat(7000)}{{/if}}`, handled: 'chain.txt.hbs:1: blocks nest deeper' },
  { name: 'big.txt.hbs', text: 'x'.repeat(MiB + 1), handled: 'big.txt.hbs: the template is 1048577 bytes' },
  { name: 'loops.txt.hbs', text: `${'{{#each (secrets "app/m")}}'.repeat(64)}z${'{{/each}}'.repeat(64)}`, handled: 'loops.txt.hbs:1: the render takes more than' },
  // At the limits: accepted, prepared on the worker thread, rendered on the event loop.
  { name: 'wide.txt.hbs', text: `${'{{#if true}}'.repeat(64)}${refs(1800, () => '{{secret "app/k"}}', MiB - 4096)}${'{{/if}}'.repeat(64)}`, handled: 'wide.txt' },
  { name: 'refs.env.hbs', text: `${Array.from({ length: 2000 }, (_, i) => `K${i}={{secret "app/k"}}\n`).join('')}{{!-- ${'c'.repeat(MiB - 64 * 1024)} --}}`, handled: 'refs.env' },
  { name: 'keys.yaml.hbs', text: Array.from({ length: 1300 }, (_, i) => `k${i}: {{secret "app/k"}}\n`).join(''), handled: 'keys.yaml' },
  { name: 'keys.json.hbs', text: `{${Array.from({ length: 1999 }, (_, i) => `"k${i}": {{secret "app/k"}}`).join(',\n')} }\n`, handled: 'keys.json' },
  // The design's 50,000 references in one template (the expression limit): planned on the worker, rendered here.
  { name: 'refs.txt.hbs', text: '{{secret "app/k"}}\n'.repeat(50_000), handled: 'refs.txt' },
];

interface Probe {
  readonly at: number;
  readonly ms: number;
  readonly status: number | string;
}

test('the worst templates never keep /health/live from answering (1 s promised, 10 s asserted under any load)', async (t) => {
  t.timeout(600_000);
  const port = await freePort();
  const { dir, cleanup } = await scratch({
    'secrets.yaml': 'app:\n  k: "v-1"\n  m:\n    a: "1"\n    b: "2"\n',
    'templates/app.env.hbs': 'K={{secret "app/k"}}\n',
    'config.yaml': [
      'templates: ./templates', 'output: ./out', 'backend: file', 'file: { path: ./secrets.yaml }', `listen: "127.0.0.1:${port}"`,
      'schedule: "0 0 1 1 *"', 'splay: 0s', 'log: { level: warn }', '',
    ].join('\n'),
  });
  t.teardown(cleanup);
  const agent = startAgent(['--config', join(dir, 'config.yaml')]);
  // Killed when the test ends, and when this worker exits without running teardowns (a timeout).
  const kill = (): void => {
    agent.child.kill('SIGKILL');
  };
  process.once('exit', kill);
  t.teardown(() => {
    process.off('exit', kill);
    kill();
  });
  const base = `http://127.0.0.1:${port}`;
  t.true(await eventually(async () => (await fetch(`${base}/health/ready`)).status === 200, 20_000), agent.stderr());

  // Probe every 100 ms, each timed from request to response, none waiting for another.
  const probes: Probe[] = [];
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  // Each probe on a fresh connection, as kubelet's HTTP probes are: a pooled keep-alive connection would be closed
  // by the server's keep-alive timer the moment a blocked loop resumes, failing the probe instead of timing it.
  const live = (): Promise<number> => new Promise((resolve, reject) => {
    const request = get(`${base}/health/live`, { agent: false, timeout: 30_000 }, (response) => {
      response.resume();
      response.once('end', () => {
        resolve(response.statusCode ?? 0);
      });
    });
    request.once('timeout', () => {
      request.destroy(new Error('no answer in 30 s'));
    });
    request.once('error', reject);
  });
  const probe = (): void => {
    const at = performance.now();
    const done = live()
      .then((status) => {
        probes.push({ at: at - started, ms: performance.now() - at, status });
      })
      .catch((error: unknown) => {
        probes.push({ at: at - started, ms: performance.now() - at, status: (error as Error).message });
      });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  const timer = setInterval(probe, 100);
  t.teardown(() => {
    clearInterval(timer);
  });
  await new Promise((resolve) => setTimeout(resolve, 500));

  // Drop the templates in one at a time (written aside and renamed, as a ConfigMap update would), each once the
  // agent has handled the previous one: every reload then prepares, and every cycle renders for the first time, one
  // hostile template; then drop them all again at once, for a reload and a cycle of all of them, warm.
  const timeline: string[] = [];
  const drop = async (name: string, text: string): Promise<void> => {
    await writeFile(join(dir, 'templates', `.${name}.tmp`), text);
    await rename(join(dir, 'templates', `.${name}.tmp`), join(dir, 'templates', name));
  };
  const isHandled = async (handled: string): Promise<boolean> => (handled.includes(':') ? agent.stderr().includes(handled) : (await readdir(join(dir, 'out'))).includes(handled));
  for (const { name, text, handled } of hostile) {
    const from = performance.now();
    await drop(name, text);
    t.true(await eventually(() => isHandled(handled), 120_000), `${name} was not handled:\n${agent.stderr().slice(-3000)}`);
    timeline.push(`${name} at +${((from - started) / 1000).toFixed(1)} s, handled in ${((performance.now() - from) / 1000).toFixed(1)} s`);
  }
  for (const { name, text } of hostile) await drop(name, text);
  await new Promise((resolve) => setTimeout(resolve, 4000));
  clearInterval(timer);
  await Promise.all([...inFlight]);

  // The agent's own view: the largest event-loop delay it measured (prom-client's monitorEventLoopDelay, 1 s
  // resolution, since start: nothing scraped /metrics before). Unlike a probe's latency, it does not include the
  // time the test's own process or the kernel took to get to the answer on a machine shared with the whole suite.
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const loopLagMs = Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(metrics)?.[1] ?? Number.NaN) * 1000;
  const sorted = probes.map((p) => p.ms).sort((a, b) => a - b);
  const max = sorted.at(-1) ?? Infinity;
  const p95 = sorted[Math.floor(sorted.length * 0.95)] ?? Infinity;
  const worst = [...probes].sort((a, b) => b.ms - a.ms).slice(0, 5).map((p) => `${p.ms.toFixed(0)} ms at +${(p.at / 1000).toFixed(1)} s (${p.status})`);
  t.log(`${probes.length} probes; max ${max.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms; worst: ${worst.join(', ')}; the agent's largest event-loop delay ${loopLagMs.toFixed(0)} ms`);
  t.log(timeline.join('; '));
  t.true(probes.length >= 20, `only ${probes.length} probes`);
  t.true(probes.every((p) => p.status === 200), `${JSON.stringify(probes.filter((p) => p.status !== 200))}\n${timeline.join('; ')}\nthe agent's last lines:\n${agent.stderr().slice(-3000)}`);
  t.true(max < LIVENESS_BOUND_MS, `a /health/live probe took ${max.toFixed(0)} ms: ${worst.join(', ')}`);
});
