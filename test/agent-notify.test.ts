// Notifications across templates and reloads (agent/agent.ts): whether a changed file notifies is decided per
// template — one template that keeps failing must not silence the others — and a change the old configuration's
// dispatcher had not run yet at a SIGHUP reload runs on the new one (docs/operations.md "What triggers a render").
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { eventually } from './helpers/agent-process.js';
import { harness } from './helpers/agent-harness.js';

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

test('a template that keeps failing does not silence the notifiers of the others', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: { key: one }\n', 'templates/a.env.hbs': '---\nnotify: [mark]\n---\nK={{secret "app/key"}}\n', 'templates/b.env.hbs': 'K={{secret "other/missing"}}\n' }, ['notifiers: { mark: { touch: ./marker } }']);
  await h.agent.start();
  t.true(await eventually(async () => exists(join(h.dir, 'out/a.env'))));
  await writeFile(join(h.dir, 'secrets.yaml'), 'app: { key: two }\n');
  h.tick();
  // Cycles do real file I/O: wait for the marker in real time, moving the fake clock (retries, `wait`) meanwhile.
  t.true(await eventually(async () => { await h.clock.advance(100); return exists(join(h.dir, 'marker')); }, 20_000), h.logs());
  t.regex(await readFile(join(h.dir, 'out/a.env'), 'utf8'), /two/);
});

test('a change waiting for quiet when a reload comes is notified by the new configuration', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: { key: one }\n', 'templates/a.env.hbs': '---\nnotify: [mark]\n---\nK={{secret "app/key"}}\n' }, ['notifiers: { mark: { touch: ./marker } }', 'wait: { min: 2s, max: 10s }']);
  await h.agent.start();
  t.true(await eventually(() => h.agent.ready));
  await writeFile(join(h.dir, 'secrets.yaml'), 'app: { key: two }\n');
  h.tick();
  t.true(await eventually(async () => { await h.clock.advance(10); return h.logs().includes('waiting for changes to settle'); }));
  await h.agent.reload();
  t.true(await eventually(async () => { await h.clock.advance(100); return exists(join(h.dir, 'marker')); }, 20_000), h.logs());
});
