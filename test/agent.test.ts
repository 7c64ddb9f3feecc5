// The lifecycle in-process, with a fake clock and a hand-fired schedule, so retry and notification rules
// are checked exactly. Files, templates and the touch notifier are real.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { backoffDelay } from '../agent/util/backoff.js';
import { flush } from './helpers/fake-clock.js';
import { harness } from './helpers/agent-harness.js';
import type { Harness } from './helpers/agent-harness.js';
import { eventually } from './helpers/agent-process.js';

/** Poll `check`, moving the fake clock 20 ms per poll so debounced watch events fire. */
function settle(h: Harness, check: () => boolean | Promise<boolean>): Promise<boolean> {
  return eventually(async () => {
    await h.clock.advance(20);
    return check();
  });
}

test('a failed first render is retried with exponential backoff and full jitter until it succeeds', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: {}\n', 'templates/a.env.hbs': 'K={{secret "app/key"}}\n' }, []);
  await h.agent.start();
  t.true(await eventually(() => h.clock.pendingDelays.length === 1));
  t.false(h.agent.ready);
  const policy = { min: 1000, max: 8000 };
  t.deepEqual(h.clock.pendingDelays, [backoffDelay(policy, 0, () => 0.5)]);
  await h.clock.advance(h.clock.pendingDelays[0] ?? 0);
  t.true(await eventually(() => h.clock.pendingDelays.length === 1));
  t.deepEqual(h.clock.pendingDelays, [backoffDelay(policy, 1, () => 0.5)]);
  await writeFile(join(h.dir, 'secrets.yaml'), 'app: { key: v }\n');
  t.true(await settle(h, () => h.agent.ready), h.logs());
  t.is(await readFile(join(h.dir, 'out/a.env'), 'utf8'), "K='v'\n");
});

test('notifiers run only when bytes change, and not for the first render unless notifyOnStart', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: { key: one }\n', 'templates/a.env.hbs': '---\nnotify: [mark]\n---\nK={{secret "app/key"}}\n' }, ['notifiers: { mark: { touch: ./marker } }']);
  await h.agent.start();
  t.true(await eventually(() => h.agent.ready));
  await flush();
  await t.throwsAsync(stat(join(h.dir, 'marker')), undefined, 'no notification for the first render');
  h.tick();
  await flush();
  await t.throwsAsync(stat(join(h.dir, 'marker')), undefined, 'no notification for an unchanged cycle');
  await writeFile(join(h.dir, 'secrets.yaml'), 'app: { key: two }\n');
  t.true(await settle(h, async () => (await stat(join(h.dir, 'marker')).catch(() => undefined)) !== undefined), h.logs());
});

test('notifyOnStart notifies after the first render too', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: { key: one }\n', 'templates/a.env.hbs': '---\nnotify: [mark]\n---\nK={{secret "app/key"}}\n' }, ['notifyOnStart: true', 'notifiers: { mark: { touch: ./marker } }']);
  await h.agent.start();
  t.true(await settle(h, async () => (await stat(join(h.dir, 'marker')).catch(() => undefined)) !== undefined));
});

test('a broken template edit is rejected and the previous template keeps serving', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: { key: one }\n', 'templates/a.env.hbs': 'K={{secret "app/key"}}\n' }, []);
  await h.agent.start();
  t.true(await eventually(() => h.agent.ready));
  await writeFile(join(h.dir, 'templates/a.env.hbs'), 'K={{secret "app/key"\n');
  t.true(await settle(h, () => h.logs().includes('template rejected; the previous version of a.env.hbs keeps serving')));
  await writeFile(join(h.dir, 'secrets.yaml'), 'app: { key: two }\n');
  t.true(await settle(h, async () => (await readFile(join(h.dir, 'out/a.env'), 'utf8')) === "K='two'\n"), h.logs());
});

test('a reload with an invalid configuration keeps the running one', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: { key: one }\n', 'templates/a.env.hbs': 'K={{secret "app/key"}}\n' }, []);
  await h.agent.start();
  t.true(await eventually(() => h.agent.ready));
  await writeFile(join(h.dir, 'config.yaml'), 'templates: ./templates\noutptu: ./x\n');
  await h.agent.reload();
  t.regex(h.logs(), /reload rejected, the running configuration stays: .*did you mean \\"output\\"/);
  await writeFile(join(h.dir, 'secrets.yaml'), 'app: { key: two }\n');
  t.true(await settle(h, async () => (await readFile(join(h.dir, 'out/a.env'), 'utf8')) === "K='two'\n"), 'the old watchers still run');
});

test('a reload picks up a new configuration and renders', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: { key: one }\n', 'templates/a.env.hbs': 'K={{secret "app/key"}}\n' }, []);
  await h.agent.start();
  t.true(await eventually(() => h.agent.ready));
  const config = await readFile(join(h.dir, 'config.yaml'), 'utf8');
  await writeFile(join(h.dir, 'config.yaml'), config.replace('output: ./out', 'output: ./out2'));
  await h.agent.reload();
  t.true(await eventually(async () => (await readFile(join(h.dir, 'out2/a.env'), 'utf8').catch(() => '')) === "K='one'\n"));
});

test('two templates with one destination are refused by the running agent too, and neither writes it', async (t) => {
  const h = await harness(t, { 'secrets.yaml': 'app: { key: one }\n', 'templates/a.env.hbs': 'K={{secret "app/key"}}\n', 'templates/b.hbs': '---\ndestination: a.env\n---\nB=1\n', 'templates/c.env.hbs': 'C={{secret "app/key"}}\n' }, []);
  await h.agent.start();
  t.true(await eventually(() => h.logs().includes('is also written by')), h.logs());
  t.true(await eventually(async () => (await readFile(join(h.dir, 'out/c.env'), 'utf8').catch(() => '')) === "C='one'\n"));
  t.is(await readFile(join(h.dir, 'out/a.env'), 'utf8'), "K='one'\n", 'the first owner writes it; the second is refused');
});
