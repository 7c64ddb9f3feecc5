// Sets in an output directory others can write to (a Kubernetes emptyDir is 0777; docs/templates.md "Sets"): a
// generation-shaped directory another user made is neither served, carried from nor removed; a generation renamed
// away while it is written sends no file elsewhere; a failure after `..data` moved still notifies once; a manifest
// saved for a swap that never happened still holds a set; a link planted for `.secrets-agent/` is not followed.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, renameSync, symlinkSync } from 'node:fs';
import { chown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureOutputDirectory, pinOutputDirectory, unpinOutputDirectory } from '../../agent/write/output.js';
import { writeSets } from '../../agent/write/set.js';
import type { SetInput, SetOutcome } from '../../agent/write/set.js';
import { needing } from '../helpers/cli.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0 ? undefined : 'chown to another uid and chattr need root';

async function pinned(t: ExecutionContext, dir?: string): Promise<string> {
  const out = join(dir ?? (await tempDir(t)), 'out');
  await ensureOutputDirectory(out);
  await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  return out;
}

const file = (text: string, mode = 0o600): { content: Buffer; mode: number } => ({ content: Buffer.from(text), mode });
const tls = (n: number, extra: SetInput['members'] = []): SetInput => ({
  name: 'tls',
  members: [{ template: 'cert.pem.hbs', rel: 'cert.pem', file: file(`CERT ${n}\n`, 0o644) }, { template: 'key.pem.hbs', rel: 'key.pem', file: file(`KEY ${n}\n`) }, ...extra],
});
const outcome = (report: { sets: ReadonlyMap<string, SetOutcome> }, name: string): string | undefined => report.sets.get(name)?.outcome;
const generations = async (out: string): Promise<string[]> => (await readdir(out)).filter((name) => /^\.\.\d{4}_/.test(name)).sort();
const FOREIGN = '..2026_01_01_00_00_00.000000000_deadbeef';
/** Why a probe file: chattr exists on filesystems that refuse +i (tmpfs before Linux 6.0, overlayfs): skipped, named. */
const chattrProblem = async (): Promise<string | undefined> => {
  if (asRoot !== undefined) return asRoot;
  if (await run('sh', ['-c', 'command -v chattr']).then(() => false, () => true)) return 'no chattr (e2fsprogs)';
  const dir = await mkdtemp(join(tmpdir(), 'secrets-agent-chattr-'));
  try {
    await writeFile(join(dir, 'probe'), '');
    await run('chattr', ['+i', join(dir, 'probe')]);
    await run('chattr', ['-i', join(dir, 'probe')]);
    return undefined;
  } catch (error) {
    return `chattr +i is not supported on ${tmpdir()}: ${(error as Error).message.split('\n')[0] ?? ''}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

// Awaited before any test is declared (AVA needs every declaration in the first tick).
const noChattr = await chattrProblem();

needing(asRoot)('a generation-shaped directory another user made is not removed at start; the agent\'s own orphan is', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'out');
  await mkdir(join(out, FOREIGN, 'sub'), { recursive: true });
  await writeFile(join(out, FOREIGN, 'sub/theirs.txt'), 'THEIRS\n');
  for (const path of [FOREIGN, `${FOREIGN}/sub`, `${FOREIGN}/sub/theirs.txt`]) await chown(join(out, path), 1234, 1234);
  const own = '..2026_01_01_00_00_00.000000000_0a1b2c3d';
  await mkdir(join(out, own));
  await writeFile(join(out, own, 'key.pem'), 'KEY\n');
  const result = await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  t.deepEqual(result.removedGenerations, [own]);
  t.deepEqual(result.failed, []);
  t.is(await readFile(join(out, FOREIGN, 'sub/theirs.txt'), 'utf8'), 'THEIRS\n', 'not the agent\'s: left alone');
});

needing(asRoot)('..data pointed at a directory another user made: its files are not served or carried, and it is not removed', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const mine = await readlink(join(out, '..data'));
  // Another user (who can write the output directory) makes a look-alike generation holding the same bytes, owns
  // its files (so could change them at will later), and points ..data at it.
  await mkdir(join(out, FOREIGN));
  await writeFile(join(out, FOREIGN, 'cert.pem'), 'CERT 1\n', { mode: 0o644 });
  await writeFile(join(out, FOREIGN, 'key.pem'), 'KEY 1\n', { mode: 0o600 });
  for (const name of ['', 'cert.pem', 'key.pem']) await chown(join(out, FOREIGN, name), 1234, 1234);
  await symlink(FOREIGN, join(out, 'data.tmp'));
  await rename(join(out, 'data.tmp'), join(out, '..data'));

  const report = await writeSets({ output: out, sets: [tls(1)] });
  t.is(outcome(report, 'tls'), 'written', 'a generation of the agent\'s own is written');
  const now = await readlink(join(out, '..data'));
  t.not(now, FOREIGN);
  t.not(now, mine);
  t.is((await stat(join(out, 'key.pem'))).uid, 0, 'the file served is the agent\'s');
  t.is(await readFile(join(out, FOREIGN, 'key.pem'), 'utf8'), 'KEY 1\n', 'the look-alike is left alone');
});

needing(asRoot)('a generation renamed away while it is written, a link to another directory put in its place: nothing is written there', async (t) => {
  const dir = await tempDir(t);
  const out = await pinned(t, dir);
  const outside = join(dir, 'outside');
  await mkdir(outside, { mode: 0o700 });
  await writeSets({ output: out, sets: [tls(1)] });
  const first = await readlink(join(out, '..data'));
  // The racer runs between the writer's steps (each one awaits the thread pool): the first time a new generation
  // appears, it is renamed away and a link to `outside` takes its name.
  let swapped = '';
  let polling = true;
  const poll = (): void => {
    if (!polling) return;
    const fresh = readdirSync(out).find((name) => /^\.\.\d{4}_/.test(name) && name !== first);
    if (fresh !== undefined && swapped === '') {
      renameSync(join(out, fresh), join(out, 'moved-away'));
      symlinkSync(outside, join(out, fresh));
      swapped = fresh;
      return;
    }
    setImmediate(poll);
  };
  setImmediate(poll);
  const big = 'x'.repeat(256 * 1024);
  const report = await writeSets({ output: out, sets: [tls(2, [{ template: 'ca.pem.hbs', rel: 'ca.pem', file: file(`CA ${big}\n`, 0o644) }])] });
  polling = false;
  t.not(swapped, '', 'the racer saw the new generation');
  t.deepEqual(await readdir(outside), [], 'no file of the set was written through the link');
  t.is((await stat(outside)).mode & 0o777, 0o700, 'nor was the directory it names made 0755');
  t.is(outcome(report, 'tls'), 'failed');
  t.is(await readlink(join(out, '..data')), first, 'the current generation serves on');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 1\n');
});

needing(noChattr)('a failure after ..data moved removes the previous generation and still reports the change once', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const first = await readlink(join(out, '..data'));
  // ca.pem joins the set; the plain file at its name cannot be replaced by the link (immutable): `..data` moves, the link fails.
  await writeFile(join(out, 'ca.pem'), 'PLAIN\n');
  await run('chattr', ['+i', join(out, 'ca.pem')]);
  t.teardown(() => run('chattr', ['-i', join(out, 'ca.pem')]).then(() => undefined, () => undefined));
  const ca = { template: 'ca.pem.hbs', rel: 'ca.pem', file: file('CA 2\n', 0o644) };
  const failed = await writeSets({ output: out, sets: [tls(2, [ca])] });
  t.is(outcome(failed, 'tls'), 'failed');
  const second = await readlink(join(out, '..data'));
  t.not(second, first, 'the swap happened');
  t.deepEqual(await generations(out), [second], 'the previous generation is removed all the same');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 2\n');

  await run('chattr', ['-i', join(out, 'ca.pem')]);
  const retried = await writeSets({ output: out, sets: [tls(2, [ca])] });
  t.is(outcome(retried, 'tls'), 'written', 'the change that went live is reported once, so its notifiers run');
  t.is(await readlink(join(out, 'ca.pem')), '..data/ca.pem');
  t.is(outcome(await writeSets({ output: out, sets: [tls(2, [ca])] }), 'tls'), 'unchanged');
});

test('a manifest saved for a swap that never happened still holds a set whose template fails to load', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const first = await readlink(join(out, '..data'));
  await writeSets({ output: out, sets: [tls(2)] });
  const second = await readlink(join(out, '..data'));
  const saved = JSON.parse(await readFile(join(out, '.secrets-agent/sets.json'), 'utf8')) as { generation: string; sets: unknown; previous?: { generation: string } };
  t.is(saved.generation, second);
  t.is(saved.previous?.generation, first, 'the manifest keeps the entry of the generation it replaces');
  // A commit saved its manifest, then died (or its swap failed): ..data still names `second`.
  await writeFile(join(out, '.secrets-agent/sets.json'), JSON.stringify({ generation: '..2026_12_31_00_00_00.000000000_00000000', sets: { tls: { 'cert.pem.hbs': 'cert.pem' } }, previous: { generation: second, sets: saved.sets } }));
  // key.pem.hbs is still in the templates directory but does not load: the set is held, key.pem stays.
  const onlyCert: SetInput = { name: 'tls', members: [{ template: 'cert.pem.hbs', rel: 'cert.pem', file: file('CERT 3\n', 0o644) }] };
  const report = await writeSets({ output: out, sets: [onlyCert], templateExists: (name) => Promise.resolve(name === 'key.pem.hbs') });
  t.is(outcome(report, 'tls'), 'failed');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 2\n');
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT 2\n');
});

test('an unchanged commit saves a manifest that names another generation again', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const current = await readlink(join(out, '..data'));
  await rm(join(out, '.secrets-agent/sets.json'));
  t.is(outcome(await writeSets({ output: out, sets: [tls(1)] }), 'tls'), 'unchanged');
  const saved = JSON.parse(await readFile(join(out, '.secrets-agent/sets.json'), 'utf8')) as { generation: string };
  t.is(saved.generation, current);
});

test('.secrets-agent replaced by a link to a directory holding a FIFO: the commit does not block on it', async (t) => {
  t.timeout(60_000);
  const dir = await tempDir(t);
  const out = await pinned(t, dir);
  await writeSets({ output: out, sets: [tls(1)] });
  const elsewhere = join(dir, 'elsewhere');
  await mkdir(elsewhere);
  await run('mkfifo', [join(elsewhere, 'sets.json')]);
  // Unblocks a reader stuck on the FIFO when the test ends, so the worker can exit.
  t.teardown(() => {
    try {
      closeSync(openSync(join(elsewhere, 'sets.json'), constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader
    }
  });
  await rename(join(out, '.secrets-agent'), join(dir, 'moved'));
  await symlink(elsewhere, join(out, '.secrets-agent'));
  const settled = await Promise.race([writeSets({ output: out, sets: [tls(1)] }).then(() => 'settled', () => 'settled'), new Promise((resolve) => setTimeout(resolve, 20_000, 'blocked'))]);
  t.is(settled, 'settled');
  t.true((await lstat(join(out, '.secrets-agent'))).isSymbolicLink());
  t.deepEqual((await readdir(elsewhere)).sort(), ['sets.json'], 'nothing was written there');
});

for (const [where, rel] of [['at the top', `${'n'.repeat(300)}.env`], ['in a sub-directory', `db/${'n'.repeat(300)}.env`]] as const) {
  test(`a file one set cannot have (a name too long, ${where}) holds that set only: the other sets of the generation are written`, async (t) => {
    const out = await pinned(t);
    const db = (n: number, extra: SetInput['members'] = []): SetInput => ({ name: 'db', members: [{ template: 'db.env.hbs', rel: 'db/db.env', file: file(`PASSWORD=p${n}\n`) }, ...extra] });
    await writeSets({ output: out, sets: [tls(1), db(1)] });
    const report = await writeSets({ output: out, sets: [tls(2), db(2, [{ template: 'long.hbs', rel, file: file('X=1\n') }])] });
    t.is(outcome(report, 'tls'), 'written');
    const held = report.sets.get('db');
    t.true(held?.outcome === 'failed' && held.error.code === 'ERR_WRITE' && held.error.message.endsWith('failed: ENAMETOOLONG'), JSON.stringify(held));
    t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 2\n');
    t.is(await readFile(join(out, 'db/db.env'), 'utf8'), 'PASSWORD=p1\n', 'the held set keeps its files');
    t.is((await generations(out)).length, 1, 'an attempt with the file that failed is removed');
  });
}

test('.secrets-agent replaced by a link: the start removes no temp link in the directory it names', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'out');
  const elsewhere = join(dir, 'elsewhere');
  await mkdir(out, { recursive: true });
  await mkdir(elsewhere);
  await symlink('/nonexistent', join(elsewhere, 'link-0123456789abcdef.tmp'));
  await symlink(elsewhere, join(out, '.secrets-agent'));
  await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  t.deepEqual(await readdir(elsewhere), ['link-0123456789abcdef.tmp']);
});

needing(asRoot)('on a mount that shows every file as one uid (NFS root_squash, CIFS uid=), the agent\'s generation is still its own', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const first = await readlink(join(out, '..data'));
  // As such a mount shows them: the output directory, `.secrets-agent/` and the generation the agent made, all owned
  // by the mount's uid.
  for (const name of ['', '.secrets-agent', first]) await chown(join(out, name), 1234, 1234);
  t.is(outcome(await writeSets({ output: out, sets: [tls(1)] }), 'tls'), 'unchanged', 'not a new generation (and notification) every cycle');
  t.is(await readlink(join(out, '..data')), first);
  t.is(outcome(await writeSets({ output: out, sets: [tls(2)] }), 'tls'), 'written');
  t.deepEqual(await generations(out), [await readlink(join(out, '..data'))], 'the previous generation is removed, not left behind');
});
