// The touch notifier on real files: created with exactly 0600, mtime set to the clock's now, content kept.
import test from 'ava';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isAgentError } from '../../agent/errors.js';
import { touchFile } from '../../agent/notify/touch.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { tempDir } from './helpers.js';

for (const umask of [0o000, 0o022, 0o077, 0o777]) {
  test.serial(`a missing file is created empty with mode exactly 0600 under umask ${umask.toString(8).padStart(3, '0')}`, async (t) => {
    const path = join(await tempDir(t), '.changed');
    const clock = new FakeClock();
    const previous = process.umask(umask);
    try {
      t.deepEqual(await touchFile(path, { clock }), { created: true });
    } finally {
      process.umask(previous);
    }
    const info = await stat(path);
    t.is(info.mode & 0o7777, 0o600);
    t.is(info.size, 0);
    t.is(info.mtimeMs, clock.now());
  });
}

test('an existing file keeps its content and mode, and its mtime becomes the clock\'s now', async (t) => {
  const path = join(await tempDir(t), 'marker');
  await writeFile(path, 'keep me');
  await chmod(path, 0o640);
  const clock = new FakeClock(Date.UTC(2030, 5, 1, 12, 0, 0));
  t.deepEqual(await touchFile(path, { clock }), { created: false });
  const info = await stat(path);
  t.is(info.mtimeMs, clock.now());
  t.is(info.mode & 0o7777, 0o640);
  t.is(await readFile(path, 'utf8'), 'keep me');
  await clock.advance(60_000);
  await touchFile(path, { clock });
  t.is((await stat(path)).mtimeMs, clock.now());
});

test('a file in a missing directory is ERR_NOTIFY naming the path; the directory is not created', async (t) => {
  const path = join(await tempDir(t), 'no-such-dir', 'marker');
  const error = await t.throwsAsync(touchFile(path, { clock: new FakeClock() }));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, `cannot touch ${path}: ENOENT`);
  t.false(existsSync(dirname(path)));
});
