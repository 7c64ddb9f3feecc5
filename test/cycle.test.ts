// runCycle renders templates concurrently but reports them in order; one failing template touches only its
// own file. Real files in a scratch directory; the backend is a table behind the Backend interface.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Backend, Outcome, SecretRef } from '../agent/backends/backend.js';
import { runCycle } from '../agent/cycle.js';
import { SecretStore } from '../agent/store/store.js';
import { prepare } from './helpers/render.js';

class TableBackend implements Backend {
  readonly name = 'file';
  constructor(private readonly table: Record<string, string>) {}
  fetch(ref: SecretRef): Promise<Outcome> {
    const data = this.table[ref.path];
    return Promise.resolve(data === undefined ? { status: 'not_found' } : { status: 'found', data });
  }
  isAvailable(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

test('40 templates: results in template order, every file written, a failing template stops only itself', async (t) => {
  const output = await mkdtemp(join(tmpdir(), 'cycle-'));
  t.teardown(() => rm(output, { recursive: true, force: true }));
  const table = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`app/key${i}`, `value-${i}`]));
  const templates = Array.from({ length: 40 }, (_, i) => prepare(`K={{secret "app/key${i === 17 ? 'missing' : i}"}}\n`, `t${String(i).padStart(2, '0')}.env.hbs`));
  const report = await runCycle({ templates, store: new SecretStore({ chain: [new TableBackend(table)] }), output, env: {}, write: true });
  t.deepEqual(report.results.map((result) => result.template.name), templates.map((template) => template.name));
  t.deepEqual(report.results.map((result) => result.outcome), templates.map((_, i) => (i === 17 ? 'failed' : 'written')));
  t.regex(report.results[17]?.error?.message ?? '', /app\/keymissing/);
  const files = (await readdir(output)).filter((name) => name !== '.secrets-agent');
  t.is(files.length, 39, 'no file for the failed template');
  t.deepEqual(await readdir(join(output, '.secrets-agent')), [], 'no temp file left');
  t.false(files.includes('t17.env'));
  for (const i of [0, 16, 18, 39]) t.is(await readFile(join(output, `t${String(i).padStart(2, '0')}.env`), 'utf8'), `K='value-${i}'\n`);
  const again = await runCycle({ templates, store: new SecretStore({ chain: [new TableBackend(table)] }), output, env: {}, write: true });
  t.is(again.results.filter((result) => result.outcome === 'unchanged').length, 39);
});
