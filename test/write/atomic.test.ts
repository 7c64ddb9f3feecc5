// Atomic writes (docs/design.md "The output directory"): exact mode, rewritten only on change, never torn, no temp file left behind.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../../agent/write/atomic.js';
import { isAgentError } from '../../agent/errors.js';
import { leftoverTempFiles, tempDir } from './tmp.js';

const SECRET = 'API_KEY=s3cr3t-value-that-must-never-leak';

for (const umask of [0o000, 0o022, 0o077, 0o777]) {
  test.serial(`a created file has exactly mode 0600, or a requested 0640, under umask ${umask.toString(8).padStart(3, '0')}`, async (t) => {
    const dir = await tempDir(t);
    const previous = process.umask(umask);
    try {
      await writeFileAtomic({ path: join(dir, 'a.env'), content: SECRET, mode: 0o600 });
      await writeFileAtomic({ path: join(dir, 'b.env'), content: SECRET, mode: 0o640 });
    } finally {
      process.umask(previous);
    }
    t.is((await stat(join(dir, 'a.env'))).mode & 0o7777, 0o600);
    t.is((await stat(join(dir, 'b.env'))).mode & 0o7777, 0o640);
    t.is(await readFile(join(dir, 'a.env'), 'utf8'), SECRET);
  });
}

test('unchanged content, mode and owner report changed false and leave mtime and inode alone', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o600 }), { changed: true });
  const before = await stat(path);
  t.deepEqual(await writeFileAtomic({ path, content: Buffer.from(SECRET), mode: 0o600 }), { changed: false });
  const after = await stat(path);
  t.is(after.ino, before.ino);
  t.is(after.mtimeMs, before.mtimeMs);
  t.is(after.ctimeMs, before.ctimeMs);
});

test('changed content is renamed into place as a new inode that fully replaces the old content', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: 'x'.repeat(10_000), mode: 0o600 });
  const before = await stat(path);
  t.deepEqual(await writeFileAtomic({ path, content: 'short', mode: 0o600 }), { changed: true });
  const after = await stat(path);
  t.not(after.ino, before.ino);
  t.is(await readFile(path, 'utf8'), 'short');
  t.deepEqual(await leftoverTempFiles(dir), []);
});

test('a mode-only change rewrites the file with the new mode', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: SECRET, mode: 0o600 });
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o640 }), { changed: true });
  t.is((await stat(path)).mode & 0o7777, 0o640);
});

test('uid and gid are applied, and an owner change alone counts as a change', async (t) => {
  if (process.getuid?.() !== 0) {
    t.log('not root: chown to another uid is not permitted, nothing to check');
    t.pass();
    return;
  }
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: SECRET, mode: 0o640 });
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o640, uid: 1234, gid: 1234 }), { changed: true });
  const owned = await stat(path);
  t.is(owned.uid, 1234);
  t.is(owned.gid, 1234);
  t.is(owned.mode & 0o7777, 0o640);
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o640, uid: 1234, gid: 1234 }), { changed: false });
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o640, uid: 4321 }), { changed: true });
  const regrouped = await stat(path);
  t.is(regrouped.uid, 4321);
  t.is(regrouped.gid, 0, 'gid not given: the temp file keeps the creating process group');
});

test('a failed rename onto a non-empty directory is ERR_WRITE naming path and operation, leaves no temp file and no secret in the message', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await mkdir(path);
  await writeFile(join(path, 'inside'), 'keep');
  const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, mode: 0o600 }));
  t.true(isAgentError(error, 'ERR_WRITE'));
  t.is(error.message, `write ${path}: rename failed: EISDIR`);
  t.false(JSON.stringify({ message: error.message, details: isAgentError(error) ? error.details : {} }).includes('s3cr3t'));
  t.truthy(error.cause);
  t.deepEqual(await leftoverTempFiles(dir), []);
  t.deepEqual(await readdir(path), ['inside']);
  t.is(await readFile(join(path, 'inside'), 'utf8'), 'keep');
});

test('a failed rename over an immutable file leaves the previous file untouched and no temp file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  await writeFileAtomic({ path, content: 'OLD=1', mode: 0o600 });
  try {
    await promisify(execFile)('chattr', ['+i', path]);
  } catch {
    t.log('chattr +i is not available here (no binary, capability or filesystem support): skipped');
    t.pass();
    return;
  }
  try {
    const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, mode: 0o600 }));
    t.true(isAgentError(error, 'ERR_WRITE'));
    t.regex(error.message, /: rename failed: EPERM$/);
  } finally {
    await promisify(execFile)('chattr', ['-i', path]);
  }
  t.is(await readFile(path, 'utf8'), 'OLD=1');
  t.deepEqual(await leftoverTempFiles(dir), []);
});

test('a write into a missing directory fails with ERR_WRITE and creates nothing', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'missing', 'app.env');
  const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, mode: 0o600 }));
  t.true(isAgentError(error, 'ERR_WRITE'));
  t.is(error.message, `write ${path}: create temp file failed: ENOENT`);
  t.deepEqual(await readdir(dir), []);
});

test('an invalid mode, uid or gid is refused before any file is created', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.env');
  for (const bad of [{ mode: 0o10000 }, { mode: 0o600, uid: -1 }, { mode: 0o600, gid: 1.5 }]) {
    const error = await t.throwsAsync(writeFileAtomic({ path, content: SECRET, ...bad }));
    t.true(isAgentError(error, 'ERR_WRITE'));
  }
  t.deepEqual(await readdir(dir), []);
});

test('a destination name near NAME_MAX is still written (the temp name is shortened)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, `${'n'.repeat(250)}.env`);
  t.deepEqual(await writeFileAtomic({ path, content: SECRET, mode: 0o600 }), { changed: true });
  t.is(await readFile(path, 'utf8'), SECRET);
  t.deepEqual(await leftoverTempFiles(dir), []);
});

test('a concurrent reader only ever sees one of the two complete contents', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'big.txt');
  const size = 1024 * 1024;
  const a = Buffer.alloc(size, 'a');
  const b = Buffer.alloc(size, 'b');
  await writeFileAtomic({ path, content: a, mode: 0o600 });
  const state = { writing: true };
  let reads = 0;
  let torn = 0;
  const seen = new Set<string>();
  const reader = (async () => {
    while (state.writing && reads < 20_000) {
      const bytes = await readFile(path);
      reads += 1;
      if (bytes.equals(a)) seen.add('a');
      else if (bytes.equals(b)) seen.add('b');
      else torn += 1;
    }
  })();
  try {
    for (let i = 1; i <= 40; i += 1) {
      t.deepEqual(await writeFileAtomic({ path, content: i % 2 === 1 ? b : a, mode: 0o600 }), { changed: true });
    }
  } finally {
    state.writing = false;
    await reader;
  }
  t.log(`${reads} reads, saw ${[...seen].join(' and ')}`);
  t.true(reads > 0);
  t.is(torn, 0);
  t.deepEqual(await leftoverTempFiles(dir), []);
});
