// The start-up isolation check (agent/runtime/exposure.ts): the rule on fake /proc trees in a temp dir, then on
// this machine's real /proc with a process of our own UID that is outside our tree.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { configSchema } from '../../agent/config/schema.js';
import type { ConfigInput } from '../../agent/config/schema.js';
import { needing } from '../helpers/cli.js';
import { assessExposure, exposureMessage, foreignProcesses, heldCredentials } from '../../agent/runtime/exposure.js';

const me = process.geteuid?.() ?? 0;
/** A non-root UID that owns the fake agent's files: ours, or 1000 (chowned) when the tests run as root. */
const agentUid = me === 0 ? 1000 : me;

interface FakeProcess {
  pid: number;
  ppid: number;
  name: string;
  /** Real, effective, saved, filesystem. */
  uids: [number, number, number, number];
}

/**
 * A /proc tree: `self` -> the agent's pid, a status file per process, and an environ for each pid of `environs`,
 * owned by the agent's UID (dumpable) or by root (not dumpable: a symlink to "/", which root owns everywhere).
 */
async function fakeProc(t: ExecutionContext, self: number, processes: FakeProcess[], environs: Record<number, 'agent' | 'root'>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sa-proc-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, String(self)));
  for (const entry of processes) {
    await mkdir(join(root, String(entry.pid)), { recursive: true });
    await writeFile(join(root, String(entry.pid), 'status'), `Name:\t${entry.name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t${entry.pid}\nPid:\t${entry.pid}\nPPid:\t${entry.ppid}\nUid:\t${entry.uids.join('\t')}\nGid:\t0\t0\t0\t0\n`);
  }
  for (const [pid, owner] of Object.entries(environs)) {
    const environ = join(root, pid, 'environ');
    if (owner === 'root') {
      await symlink('/', environ);
      continue;
    }
    await writeFile(environ, 'VAULT_TOKEN=hvs.fake\0');
    if (me === 0) await chown(environ, agentUid, agentUid);
  }
  await symlink(String(self), join(root, 'self'));
  return root;
}

const as = (uid: number): [number, number, number, number] => [uid, uid, uid, uid];

/**
 * One pod's worth of processes: init (root), a launcher that started the agent, the agent, its command notifier and
 * the notifier's child, the application and its worker (same UID, outside the tree), a process of another UID,
 * and a setuid program whose only match is its effective UID.
 */
function pod(uid: number): FakeProcess[] {
  return [
    { pid: 1, ppid: 0, name: 'pause', uids: as(65535) },
    { pid: 7, ppid: 0, name: 'launcher', uids: as(uid) },
    { pid: 10, ppid: 7, name: 'node', uids: as(uid) },
    { pid: 11, ppid: 10, name: 'reload-app', uids: as(uid) },
    { pid: 12, ppid: 11, name: 'sleep', uids: as(uid) },
    { pid: 20, ppid: 0, name: 'gunicorn', uids: as(uid) },
    { pid: 21, ppid: 20, name: 'gunicorn', uids: as(uid) },
    { pid: 30, ppid: 0, name: 'nginx', uids: as(uid + 7) },
    { pid: 40, ppid: 0, name: 'su', uids: [uid + 9, uid, uid, uid] },
  ];
}

test('dumpable, with processes of its UID outside its tree: exposed, naming them; its launcher and its children are not counted', async (t) => {
  const uid = agentUid;
  const root = await fakeProc(t, 10, pod(uid), { 10: 'agent', 7: 'root' });
  const exposure = await assessExposure(['env VAULT_TOKEN'], { procRoot: root, uid });
  t.like(exposure, { exposed: true, code: 'ERR_CREDENTIALS_EXPOSED', dumpable: true, uid, foreignCount: 3 });
  t.deepEqual(exposure.foreign, [{ pid: 20, name: 'gunicorn' }, { pid: 21, name: 'gunicorn' }, { pid: 40, name: 'su' }]);
  const message = exposureMessage(exposure);
  t.regex(message, new RegExp(`^the agent holds credentials \\(env VAULT_TOKEN\\) and is dumpable, and 3 process\\(es\\) of its UID ${uid} outside its process tree \\(20 gunicorn, 21 gunicorn, 40 su\\)`));
  t.regex(message, /execute-only node binary as the image does .*give the application another UID/);
  t.false(message.includes('hvs.fake'));
});

test('not dumpable (its environ is not its own): not exposed, whatever it can see', async (t) => {
  const uid = agentUid;
  const root = await fakeProc(t, 10, pod(uid), { 10: 'root', 7: 'root', 11: 'agent' });
  const exposure = await assessExposure(['vault (kubernetes)'], { procRoot: root, uid });
  t.like(exposure, { exposed: false, dumpable: false, foreignCount: 3 });
  t.deepEqual(exposure.dumpableAncestors, [], 'a dumpable child (a command notifier) is not counted: it has not the agent\'s environment');
  t.is(exposure.code, undefined);
});

test('not dumpable itself, but started by a dumpable process of its UID (an init, a shell): exposed, naming it', async (t) => {
  const uid = agentUid;
  const root = await fakeProc(t, 10, pod(uid), { 10: 'root', 7: 'agent' });
  const exposure = await assessExposure(['env VAULT_TOKEN'], { procRoot: root, uid });
  t.like(exposure, { exposed: true, code: 'ERR_CREDENTIALS_EXPOSED', dumpable: false, dumpableAncestors: [{ pid: 7, name: 'launcher' }], foreignCount: 3 });
  t.regex(exposureMessage(exposure), /and was started by a dumpable process of its UID \(7 launcher\) that shares its environment and files, and 3 process\(es\)/);
});

test('dumpable, alone with its own tree (no shared PID namespace): not exposed', async (t) => {
  const own = pod(agentUid).filter((entry) => [1, 7, 10, 11, 12].includes(entry.pid));
  const root = await fakeProc(t, 10, own, { 10: 'agent', 7: 'agent' });
  t.like(await assessExposure(['vault (token)'], { procRoot: root, uid: agentUid }), { exposed: false, dumpable: true, foreignCount: 0 });
});

test('root counts as dumpable: its /proc files are root\'s either way, and an execute-only node does not stop root', async (t) => {
  const root = await fakeProc(t, 10, pod(0), { 10: 'root' });
  t.like(await assessExposure(['env AWS_SECRET_ACCESS_KEY'], { procRoot: root, uid: 0 }), { exposed: true, dumpable: true, uid: 0, foreignCount: 3 });
});

test('holding no credential, nothing is checked; without /proc the check says why it could not run', async (t) => {
  t.deepEqual(await assessExposure([], { procRoot: '/nonexistent-proc', uid: 1000 }), { exposed: false, credentials: [] });
  const exposure = await assessExposure(['vault (token)'], { procRoot: '/nonexistent-proc', uid: 1000 });
  t.false(exposure.exposed);
  t.regex(exposure.unknown ?? '', /^\/nonexistent-proc\/self cannot be read/);
});

const config = (input: ConfigInput) => configSchema.parse({ backend: 'auto', ...input });

test('the credentials held: Vault when in the chain with a way to log in, AWS when in the chain, and every credential variable set, by name only', (t) => {
  t.deepEqual(heldCredentials(config({ vault: { auth: { token: 'hvs.x' } } }), ['vault', 'file'], {}), ['vault (token)']);
  t.deepEqual(heldCredentials(config({ vault: { auth: { tokenFile: '/t' } } }), ['vault'], {}), ['vault (token)']);
  t.deepEqual(heldCredentials(config({ vault: { auth: { method: 'kubernetes', role: 'app' } } }), ['vault'], {}), ['vault (kubernetes)']);
  t.deepEqual(heldCredentials(config({ vault: { auth: { method: 'approle', roleIdFile: '/r', secretIdFile: '/s' } } }), ['vault'], {}), ['vault (approle)']);
  t.deepEqual(heldCredentials(config({}), ['vault', 'env'], {}), [], 'token method without a token: nothing to log in with');
  t.deepEqual(heldCredentials(config({ vault: { auth: { token: 'hvs.x' } } }), ['file'], {}), [], 'Vault configured but not in the chain');
  t.deepEqual(heldCredentials(config({}), ['aws', 'env'], {}), ['aws (default chain)'], 'the SDK keeps what its chain found in memory');
  const env = { VAULT_TOKEN: 'hvs.x', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's', AWS_WEB_IDENTITY_TOKEN_FILE: '/w', AWS_PROFILE: '', PATH: '/bin', VAULT_ADDR: 'http://v' };
  const held = heldCredentials(config({}), ['file'], env);
  t.deepEqual(held, ['env VAULT_TOKEN', 'env AWS_ACCESS_KEY_ID', 'env AWS_SECRET_ACCESS_KEY', 'env AWS_WEB_IDENTITY_TOKEN_FILE'], 'in /proc/<pid>/environ even when no backend uses them');
  t.false(held.join(' ').includes('hvs.x'));
});

needing(existsSync('/proc/self/status') ? undefined : 'no /proc on this machine (Linux only)')('on the real /proc: a process of our UID outside our tree is foreign, our own child is not', async (t) => {
  const self = Number(readlinkSync('/proc/self'));
  // Why double fork: the shell exits at once, so the sleep is reparented (to init or a subreaper) and is no
  // longer our descendant: what an application in a shared PID namespace looks like to the agent.
  const orphan = spawnSync('/bin/sh', ['-c', 'sleep 60 >/dev/null 2>&1 </dev/null & echo $!'], { encoding: 'utf8' });
  const orphanPid = Number(orphan.stdout.trim());
  t.teardown(() => { try { process.kill(orphanPid, 'SIGKILL'); } catch { /* gone */ } });
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const foreign = await foreignProcesses('/proc', self, me);
  t.true(foreign.some((entry) => entry.pid === orphanPid && entry.name === 'sleep'), `orphan ${orphanPid} among ${foreign.length}`);
  t.false(foreign.some((entry) => entry.pid === child.pid || entry.pid === self || entry.pid === process.ppid));
  // This worker runs from a readable node binary, so it is dumpable; the orphan makes it exposed.
  const exposure = await assessExposure(['env VAULT_TOKEN']);
  t.like(exposure, { exposed: true, dumpable: true, uid: me });
});
