// Sets on real files (docs/templates.md "Sets"): one generation `..<timestamp>/` behind the `..data` symlink, visible
// names as links into it, held sets keep their files, an unchanged commit writes nothing, the old generation goes.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { lstat, mkdir, readFile, readdir, readlink, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAgentError } from '../../agent/errors.js';
import { ensureOutputDirectory, pinOutputDirectory, unpinOutputDirectory, writeOutputFile } from '../../agent/write/output.js';
import { assertSafeTarget } from '../../agent/write/destination.js';
import { writeSets } from '../../agent/write/set.js';
import type { SetInput, SetOutcome } from '../../agent/write/set.js';
import { needing } from '../helpers/cli.js';
import { leftoverTempFiles, tempDir } from './tmp.js';

async function pinned(t: ExecutionContext): Promise<string> {
  const out = join(await tempDir(t), 'out');
  await ensureOutputDirectory(out);
  await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  return out;
}

const file = (text: string, mode = 0o600): { content: Buffer; mode: number } => ({ content: Buffer.from(text), mode });

function tls(n: number, extra: Partial<Record<'cert' | 'key', string>> = {}): SetInput {
  return {
    name: 'tls',
    members: [
      { template: 'cert.pem.hbs', rel: extra.cert ?? 'cert.pem', file: file(`CERT ${n}\n`, 0o644) },
      { template: 'key.pem.hbs', rel: extra.key ?? 'key.pem', file: file(`KEY ${n}\n`) },
    ],
  };
}

const outcome = (report: { sets: ReadonlyMap<string, SetOutcome> }, name: string): string | undefined => report.sets.get(name)?.outcome;
const generations = async (out: string): Promise<string[]> => (await readdir(out)).filter((name) => name.startsWith('..') && name !== '..data').sort();

test('a set is written as one generation: ..data links it, each visible name links into ..data, modes exact', async (t) => {
  const out = await pinned(t);
  const report = await writeSets({ output: out, sets: [tls(1)] });
  t.is(outcome(report, 'tls'), 'written');
  const generation = await readlink(join(out, '..data'));
  t.regex(generation, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{9}_[0-9a-f]{8}$/);
  t.is(report.generation, generation);
  t.is(await readlink(join(out, 'cert.pem')), '..data/cert.pem');
  t.is(await readlink(join(out, 'key.pem')), '..data/key.pem');
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT 1\n');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 1\n');
  t.is((await stat(join(out, generation, 'key.pem'))).mode & 0o7777, 0o600);
  t.is((await stat(join(out, generation, 'cert.pem'))).mode & 0o7777, 0o644);
  t.is((await stat(join(out, generation))).mode & 0o777, 0o755, 'a consumer with the uid a template names can reach its file');
  t.deepEqual((await readdir(out)).sort(), ['..data', '.secrets-agent', generation, 'cert.pem', 'key.pem'].sort());
  const manifest = JSON.parse(await readFile(join(out, '.secrets-agent/sets.json'), 'utf8')) as unknown;
  t.deepEqual(manifest, { generation, sets: { tls: { 'cert.pem.hbs': 'cert.pem', 'key.pem.hbs': 'key.pem' } } });
  t.deepEqual(await leftoverTempFiles(out), []);
});

test('an unchanged set writes nothing; a change makes a new generation and removes the previous one', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const first = await readlink(join(out, '..data'));
  const inode = (await stat(join(out, 'key.pem'))).ino;
  const manifestInode = (await stat(join(out, '.secrets-agent/sets.json'))).ino;
  const again = await writeSets({ output: out, sets: [tls(1)] });
  t.is(outcome(again, 'tls'), 'unchanged');
  t.is(await readlink(join(out, '..data')), first);
  t.is((await stat(join(out, 'key.pem'))).ino, inode);
  t.is((await stat(join(out, '.secrets-agent/sets.json'))).ino, manifestInode, 'not even the manifest is rewritten');
  t.deepEqual(await generations(out), [first]);

  const next = await writeSets({ output: out, sets: [tls(2)] });
  t.is(outcome(next, 'tls'), 'written');
  const second = await readlink(join(out, '..data'));
  t.not(second, first);
  t.deepEqual(await generations(out), [second], 'the previous generation is removed');
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT 2\n');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 2\n');
});

test('a set with a failing template is held: no new generation, every file of the last one keeps serving', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const first = await readlink(join(out, '..data'));
  const failing: SetInput = { name: 'tls', members: [{ template: 'cert.pem.hbs', rel: 'cert.pem', file: file('CERT 2\n', 0o644) }, { template: 'key.pem.hbs', rel: 'key.pem' }] };
  const report = await writeSets({ output: out, sets: [failing] });
  const held = report.sets.get('tls');
  t.is(held?.outcome, 'failed');
  t.true(held?.outcome === 'failed' && isAgentError(held.error, 'ERR_SET_INCOMPLETE'));
  t.is(held?.outcome === 'failed' ? held.error.message : '', 'set "tls" not written: key.pem.hbs did not render; every file of the set keeps its current generation');
  t.is(await readlink(join(out, '..data')), first);
  t.deepEqual(await generations(out), [first]);
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT 1\n', 'the template that rendered is not written alone');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 1\n');
});

test('a destination in a subdirectory is reached through the top-level link, kubelet-style', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1, { cert: 'tls/cert.pem', key: 'tls/key.pem' })] });
  t.is(await readlink(join(out, 'tls')), '..data/tls');
  t.is(await readFile(join(out, 'tls/cert.pem'), 'utf8'), 'CERT 1\n');
  t.is(await readFile(join(out, 'tls/key.pem'), 'utf8'), 'KEY 1\n');
  const generation = await readlink(join(out, '..data'));
  t.is((await stat(join(out, generation, 'tls'))).mode & 0o777, 0o755);
});

test('several sets share one generation: a held set keeps its files while another changes; an unchanged set keeps its inodes', async (t) => {
  const out = await pinned(t);
  const db = (n: number, ok = true): SetInput => ({ name: 'db', members: [{ template: 'db.env.hbs', rel: 'db.env', ...(ok ? { file: file(`PASSWORD=p${n}\n`) } : {}) }] });
  await writeSets({ output: out, sets: [tls(1), db(1)] });
  const dbInode = (await stat(join(out, 'db.env'))).ino;
  const changed = await writeSets({ output: out, sets: [tls(2), db(1)] });
  t.is(outcome(changed, 'tls'), 'written');
  t.is(outcome(changed, 'db'), 'unchanged');
  t.is((await stat(join(out, 'db.env'))).ino, dbInode, 'carried into the new generation as the same inode');
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT 2\n');

  const heldDb = await writeSets({ output: out, sets: [tls(3), db(2, false)] });
  t.is(outcome(heldDb, 'tls'), 'written');
  t.is(outcome(heldDb, 'db'), 'failed');
  t.is(await readFile(join(out, 'db.env'), 'utf8'), 'PASSWORD=p1\n', 'the held set keeps its files in the new generation');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 3\n');
  t.is((await generations(out)).length, 1);
});

test('a template that leaves its set loses its link, and can then be written as a plain file; moving in replaces a plain file', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const withoutKey: SetInput = { name: 'tls', members: [{ template: 'cert.pem.hbs', rel: 'cert.pem', file: file('CERT 1\n', 0o644) }] };
  const report = await writeSets({ output: out, sets: [withoutKey] });
  t.is(outcome(report, 'tls'), 'written', 'losing a file is a change of the set');
  await t.throwsAsync(lstat(join(out, 'key.pem')), { code: 'ENOENT' });
  await t.throwsAsync(stat(join(out, '..data/key.pem')), { code: 'ENOENT' });
  await writeOutputFile(out, { path: await assertSafeTarget(out, join(out, 'key.pem')), content: 'PLAIN KEY\n', mode: 0o600 });
  t.true((await lstat(join(out, 'key.pem'))).isFile());

  const back = await writeSets({ output: out, sets: [tls(4)] });
  t.is(outcome(back, 'tls'), 'written');
  t.is(await readlink(join(out, 'key.pem')), '..data/key.pem', 'the plain file is replaced by the link');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 4\n');
});

test('the agent\'s own visible link is accepted as a destination for a plain write; a planted symlink is not', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  // The commit that would remove the link failed (say): the plain write renames over the link, never through it.
  t.is(await assertSafeTarget(out, join(out, 'key.pem')), join(out, 'key.pem'));
  await writeOutputFile(out, { path: join(out, 'key.pem'), content: 'PLAIN\n', mode: 0o600 });
  t.true((await lstat(join(out, 'key.pem'))).isFile());
  t.is(await readFile(join(out, '..data/key.pem'), 'utf8'), 'KEY 1\n', 'the generation file was not written through the link');
  await symlink('/etc/passwd', join(out, 'planted'));
  await symlink('..data/elsewhere', join(out, 'other'));
  for (const name of ['planted', 'other']) {
    const error = await t.throwsAsync(assertSafeTarget(out, join(out, name)));
    t.true(isAgentError(error, 'ERR_DESTINATION'), name);
  }
});

test('sets no template names any more are removed: links, ..data, the generation and the manifest', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1, { cert: 'tls/cert.pem', key: 'tls/key.pem' })] });
  await writeFile(join(out, 'app.env'), 'A=1\n');
  const report = await writeSets({ output: out, sets: [] });
  t.is(report.sets.size, 0);
  t.deepEqual((await readdir(out)).sort(), ['.secrets-agent', 'app.env']);
  t.deepEqual(await readdir(join(out, '.secrets-agent')), []);
});

test('a member of the last generation that still exists but did not load holds its set', async (t) => {
  const out = await pinned(t);
  await writeSets({ output: out, sets: [tls(1)] });
  const onlyCert: SetInput = { name: 'tls', members: [{ template: 'cert.pem.hbs', rel: 'cert.pem', file: file('CERT 2\n', 0o644) }] };
  const held = await writeSets({ output: out, sets: [onlyCert], templateExists: (name) => Promise.resolve(name === 'key.pem.hbs') });
  t.is(outcome(held, 'tls'), 'failed');
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT 1\n');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 1\n');
  const gone = await writeSets({ output: out, sets: [onlyCert], templateExists: () => Promise.resolve(false) });
  t.is(outcome(gone, 'tls'), 'written', 'once the template is gone, the set shrinks');
  await t.throwsAsync(lstat(join(out, 'key.pem')), { code: 'ENOENT' });
});

test('a real directory where a set needs its top-level link holds the set and says what to move', async (t) => {
  const out = await pinned(t);
  await mkdir(join(out, 'tls'));
  await writeFile(join(out, 'tls/cert.pem'), 'OLD\n');
  const report = await writeSets({ output: out, sets: [tls(1, { cert: 'tls/cert.pem', key: 'tls/key.pem' })] });
  const held = report.sets.get('tls');
  t.true(held?.outcome === 'failed' && isAgentError(held.error, 'ERR_DESTINATION'));
  t.regex(held?.outcome === 'failed' ? held.error.message : '', /tls is a real directory, and a set's top-level name must be the agent's link into \.\.data; move it away/);
  t.is(await readFile(join(out, 'tls/cert.pem'), 'utf8'), 'OLD\n');
  t.deepEqual(await generations(out), []);
});

needing(process.getuid?.() === 0 ? undefined : 'chown to another uid needs root')('owner and mode per template inside the generation (as root)', async (t) => {
  const out = await pinned(t);
  const set: SetInput = { name: 'tls', members: [{ template: 'key.pem.hbs', rel: 'key.pem', file: { content: Buffer.from('KEY\n'), mode: 0o640, uid: 1234, gid: 2345 } }] };
  await writeSets({ output: out, sets: [set] });
  const stats = await stat(join(out, 'key.pem'));
  t.deepEqual([stats.uid, stats.gid, stats.mode & 0o7777], [1234, 2345, 0o640]);
  t.is(outcome(await writeSets({ output: out, sets: [set] }), 'tls'), 'unchanged');
});

test('a replaced output directory is refused before anything of a set is written', async (t) => {
  const out = await pinned(t);
  await rename(out, `${out}.moved`);
  await mkdir(out);
  const error = await t.throwsAsync(writeSets({ output: out, sets: [tls(1)] }));
  t.true(isAgentError(error, 'ERR_OUTPUT_DIR'));
  t.deepEqual(await readdir(out), []);
  t.deepEqual(await readdir(`${out}.moved`), ['.secrets-agent']);
});

test('a partial pass (a vault call replaced) writes what it rendered and keeps every other set and member as it is', async (t) => {
  const out = await pinned(t);
  const ca: SetInput = { name: 'tls', members: [...tls(1).members, { template: 'ca.pem.hbs', rel: 'ca.pem', file: file('CA 1\n', 0o644) }] };
  const db: SetInput = { name: 'db', members: [{ template: 'db.env.hbs', rel: 'db.env', file: file('PASSWORD=p1\n') }] };
  await writeSets({ output: out, sets: [ca, db] });
  // Only cert and key use the replaced call: ca.pem.hbs and the db set are not in the pass.
  const report = await writeSets({ output: out, sets: [tls(2)], partial: true });
  t.is(outcome(report, 'tls'), 'written');
  t.is(await readFile(join(out, 'cert.pem'), 'utf8'), 'CERT 2\n');
  t.is(await readFile(join(out, 'key.pem'), 'utf8'), 'KEY 2\n');
  t.is(await readFile(join(out, 'ca.pem'), 'utf8'), 'CA 1\n');
  t.is(await readFile(join(out, 'db.env'), 'utf8'), 'PASSWORD=p1\n');
  const manifest = JSON.parse(await readFile(join(out, '.secrets-agent/sets.json'), 'utf8')) as { sets: unknown };
  t.deepEqual(manifest.sets, { tls: { 'cert.pem.hbs': 'cert.pem', 'key.pem.hbs': 'key.pem', 'ca.pem.hbs': 'ca.pem' }, db: { 'db.env.hbs': 'db.env' } });
});
