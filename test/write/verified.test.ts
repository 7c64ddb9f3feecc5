// Files compared equal once are answered by lstat while nothing about them changed (agent/write/verified.ts), and
// read again whenever anything did: bytes (even with the mtime put back), mode, the inode, or the wanted content.
import { chmod, lstat, mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { sameFile } from '../../agent/write/atomic.js';
import { MAX_ENTRIES, SETTLE_MS, VerifiedFiles, verified } from '../../agent/write/verified.js';

const CONTENT = Buffer.from('API_KEY=first-value\n');
/** A clock far enough ahead that every file's last change is settled. */
const later = (): number => Date.now() + 10 * SETTLE_MS;

async function file(t: ExecutionContext, content: Buffer = CONTENT): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verified-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'app.env');
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

/** sameFile, and whether lstat alone answered it. */
async function compare(path: string, content: Buffer, mode = 0o600): Promise<{ same: boolean; byStat: boolean }> {
  const before = verified.counts.byStat;
  const same = await sameFile(path, { content, mode }, later);
  return { same, byStat: verified.counts.byStat > before };
}

test.serial('a file read equal once is answered by lstat next time', async (t) => {
  const path = await file(t);
  t.deepEqual(await compare(path, CONTENT), { same: true, byStat: false }, 'the first comparison reads');
  t.deepEqual(await compare(path, CONTENT), { same: true, byStat: true });
  t.deepEqual(await compare(path, CONTENT), { same: true, byStat: true });
});

test.serial('new bytes of the same size, with mtime and atime put back, are read and found different', async (t) => {
  const path = await file(t);
  const stamp = new Date('2026-01-01T00:00:00Z'); // whole seconds, so putting it back is exact to the nanosecond
  await utimes(path, stamp, stamp);
  t.true((await compare(path, CONTENT)).same);
  const { mtimeNs } = await stat(path, { bigint: true });
  await writeFile(path, Buffer.from('API_KEY=other-value\n'));
  await utimes(path, stamp, stamp);
  t.is((await stat(path, { bigint: true })).mtimeNs, mtimeNs, 'the mtime is back');
  t.deepEqual(await compare(path, CONTENT), { same: false, byStat: false });
});

test.serial('a changed mode, a changed wanted content or mode, and another inode are never answered by lstat', async (t) => {
  const path = await file(t);
  t.true((await compare(path, CONTENT)).same);
  t.deepEqual(await compare(path, Buffer.from('API_KEY=new-value!!\n')), { same: false, byStat: false }, 'the wanted bytes changed');
  t.true((await compare(path, CONTENT)).same);
  t.deepEqual(await compare(path, CONTENT, 0o640), { same: false, byStat: false }, 'the wanted mode changed');
  t.true((await compare(path, CONTENT)).same);
  await chmod(path, 0o644);
  t.deepEqual(await compare(path, CONTENT), { same: false, byStat: false }, 'the file\'s mode changed');
  await chmod(path, 0o600);
  t.true((await compare(path, CONTENT)).same);
  // The same bytes renamed over it: another inode, read again, equal, and remembered afresh.
  const other = `${path}.new`;
  await writeFile(other, CONTENT, { mode: 0o600 });
  await rename(other, path);
  t.deepEqual(await compare(path, CONTENT), { same: true, byStat: false });
  t.deepEqual(await compare(path, CONTENT), { same: true, byStat: true });
  await rm(path);
  t.deepEqual(await compare(path, CONTENT), { same: false, byStat: false }, 'a removed file');
});

test.serial('a file changed less than SETTLE_MS ago is read every time (racily clean), then remembered once settled', async (t) => {
  const path = await file(t);
  const now = (): number => Date.now();
  const before = verified.counts.byStat;
  t.true(await sameFile(path, { content: CONTENT, mode: 0o600 }, now));
  t.true(await sameFile(path, { content: CONTENT, mode: 0o600 }, now));
  t.is(verified.counts.byStat, before, 'just written: every comparison reads');
  t.deepEqual(await compare(path, CONTENT), { same: true, byStat: false }, 'settled: read once more and remembered');
  t.deepEqual(await compare(path, CONTENT), { same: true, byStat: true });
});

test('the memory is bounded: past MAX_ENTRIES it starts over', async (t) => {
  const path = await file(t);
  const stats = await lstat(path, { bigint: true });
  const files = new VerifiedFiles();
  for (let i = 0; i < MAX_ENTRIES + 10; i++) files.record(`${path}.${i}`, stats, CONTENT, later());
  t.true(files.size <= MAX_ENTRIES, String(files.size));
  t.true(files.size > 0);
});
