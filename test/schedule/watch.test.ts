import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { watchInputs } from '../../agent/schedule/watch.js';
import type { InputKind } from '../../agent/schedule/watch.js';
import { systemClock } from '../../agent/util/clock.js';

/** Resolves with the next change report, or [] when none arrives within `ms` (a bound, not an assertion). */
function nextChange(queue: InputKind[][], ms = 3000): Promise<InputKind[]> {
  return new Promise((resolve) => {
    const started = Date.now();
    const poll = (): void => {
      const next = queue.shift();
      if (next) resolve(next);
      else if (Date.now() - started > ms) resolve([]);
      else setTimeout(poll, 20);
    };
    poll();
  });
}

async function setup(t: import('ava').ExecutionContext): Promise<{ dir: string; changes: InputKind[][]; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sa-watch-'));
  await mkdir(join(dir, 'templates'));
  await writeFile(join(dir, 'templates/a.hbs'), 'A');
  await writeFile(join(dir, 'secrets.yaml'), 'a: 1\n');
  const changes: InputKind[][] = [];
  const watcher = watchInputs({
    inputs: [{ kind: 'templates', path: join(dir, 'templates') }, { kind: 'secrets-file', path: join(dir, 'secrets.yaml') }],
    clock: systemClock,
    debounceMs: 50,
    onChange: (kinds) => changes.push(kinds),
  });
  await watcher.ready;
  const close = async (): Promise<void> => {
    await watcher.close();
    await rm(dir, { recursive: true, force: true });
  };
  t.teardown(close);
  return { dir, changes, close };
}

test('a changed secrets file is reported once its content differs', async (t) => {
  const { dir, changes } = await setup(t);
  await writeFile(join(dir, 'secrets.yaml'), 'a: 2\n');
  t.deepEqual(await nextChange(changes), ['secrets-file']);
});

test('rewriting a file with the same bytes reports nothing', async (t) => {
  const { dir, changes } = await setup(t);
  await writeFile(join(dir, 'secrets.yaml'), 'a: 1\n');
  await writeFile(join(dir, 'templates/a.hbs'), 'A');
  t.deepEqual(await nextChange(changes, 800), []);
});

test('a new or changed template reports the templates input', async (t) => {
  const { dir, changes } = await setup(t);
  await writeFile(join(dir, 'templates/b.hbs'), 'B');
  t.deepEqual(await nextChange(changes), ['templates']);
});

test('a Kubernetes-style ..data symlink swap is seen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sa-watch-k8s-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, '..v1'));
  await writeFile(join(dir, '..v1/secrets.yaml'), 'a: 1\n');
  await symlink('..v1', join(dir, '..data'));
  await symlink('..data/secrets.yaml', join(dir, 'secrets.yaml'));
  const changes: InputKind[][] = [];
  const watcher = watchInputs({ inputs: [{ kind: 'secrets-file', path: join(dir, 'secrets.yaml') }], clock: systemClock, debounceMs: 50, onChange: (kinds) => changes.push(kinds) });
  t.teardown(() => watcher.close());
  await watcher.ready;
  await mkdir(join(dir, '..v2'));
  await writeFile(join(dir, '..v2/secrets.yaml'), 'a: 2\n');
  await symlink('..v2', join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  t.deepEqual(await nextChange(changes), ['secrets-file']);
});
