// Issue 19, end to end: the application must not be able to take the agent's Vault token. The built agent runs
// (`run`, the Vault emulator, VAULT_TOKEN in its environment) as an unprivileged UID, with an application of the
// same UID already running beside it (the one-UID, shared-PID-namespace setup the `signal` notifier needs). A
// second process of that UID then tries what an attacker who owns the application would: read the agent's
// /proc/<pid>/environ, list its /proc/<pid>/root/, and signal it.
//   - started from an execute-only copy of node (root-owned, 0711, as the image ships it): the kernel marks the
//     agent non-dumpable, both reads are EACCES, the signal still arrives, and the agent does not warn;
//   - started from the ordinary, readable node: the token is read, root/ is listed, and the agent said so at
//     start in one ERR_CREDENTIALS_EXPOSED warn line and in /v1/status.
// A third run shows a trap the agent's check catches: setpriv keeps its capabilities until it executes node, and
// a process executing a file while it holds CAP_DAC_OVERRIDE can read that file, so the kernel does not mark it
// non-dumpable; the execute-only node then protects nothing, and the agent warns. A fourth shows the other trap:
// an init of the same UID (`docker run --init`, a shell) started from a readable binary holds the same environment
// and sees the same files, so it gives the token away even when the agent does not; the agent counts a dumpable
// ancestor of its UID as its own dumpability. Processes are started the way a container runtime starts a
// non-root process (Docker gives it no capability): Node's spawn with uid/gid drops the
// supplementary groups, then the UID, and with it every capability, before it executes node.
// Switching users needs root (CI runs as root); elsewhere the tests skip with the reason.
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, chmod, chown, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { eventually, freePort, trackGroup } from '../helpers/agent-process.js';
import { cli, logLines, needing, scratch } from '../helpers/cli.js';

const SETPRIV = '/usr/bin/setpriv';
const DB_PASSWORD = 'isolation-db-password-5d1c';

/** Why this machine cannot run these tests, or undefined. */
function missing(): string | undefined {
  if (!existsSync('/proc/self/status')) return 'no /proc on this machine (Linux only)';
  if (process.geteuid?.() !== 0) return 'needs root to start processes as another user (CI runs as root)';
  const probe = spawnSync(process.execPath, ['-e', 'require("fs").accessSync(process.argv[1], 4)', cli], { uid: 10071, gid: 10071 });
  if (probe.status !== 0) return `UID 10071 cannot run node or read ${cli} (a parent directory is private, or dist/ is not built)`;
  return undefined;
}

/**
 * `argv` as UID:GID `uid`, no supplementary groups and no capability (or through setpriv, which keeps them until
 * it executes argv[0]); its own process group, killed with the test whatever happens.
 */
function asUser(t: ExecutionContext, uid: number, argv: readonly string[], options: { env?: Record<string, string>; cwd?: string; setpriv?: boolean } = {}) {
  const [program = '', ...rest] = options.setpriv === true ? [SETPRIV, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv] : argv;
  const child = spawn(program, rest, {
    cwd: options.cwd ?? '/', env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    ...(options.setpriv === true ? {} : { uid, gid: uid }),
  });
  const killGroup = trackGroup(child);
  t.teardown(() => { killGroup('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Why: 'exit' can come before the last bytes of stdout have been read (seen under load); 'close' comes after.
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  return { child, exited, closed, stdout: () => stdout, stderr: () => stderr };
}

/** What an attacker of UID `uid` gets from the agent `pid`: its token from environ, a listing of its root/, a signal through. */
const PROBE = `
const fs = require('fs');
const pid = Number(process.argv[1]);
const result = {};
try {
  const line = fs.readFileSync('/proc/' + pid + '/environ', 'utf8').split('\\0').find((entry) => entry.startsWith('VAULT_TOKEN='));
  result.environ = 'read';
  result.token = line === undefined ? null : line.slice('VAULT_TOKEN='.length);
} catch (error) { result.environ = error.code; }
try { result.root = fs.readdirSync('/proc/' + pid + '/root/').includes('proc') ? 'listed' : 'other'; } catch (error) { result.root = error.code; }
if (process.argv[2] === 'signal') { try { process.kill(pid, 'SIGUSR1'); result.signal = 'sent'; } catch (error) { result.signal = error.code; } }
process.stdout.write(JSON.stringify(result));
`;

interface Probe {
  environ: string;
  token?: string | null;
  root: string;
  signal?: string;
}

async function probe(t: ExecutionContext, uid: number, pid: number, signal = true): Promise<Probe> {
  const prober = asUser(t, uid, [process.execPath, '-e', PROBE, String(pid), signal ? 'signal' : 'read-only']);
  t.is(await prober.closed, 0, prober.stderr());
  return JSON.parse(prober.stdout()) as Probe;
}

interface Isolation {
  exposed: boolean;
  code?: string;
  dumpable?: boolean;
  uid?: number;
  credentials: string[];
  foreign?: { pid: number; name: string }[];
}

/**
 * The agent as UID `uid` from `node`, reading a token from the Vault emulator, with an "application" (a sleep of
 * the same UID, started first) beside it. Resolves once the agent is ready.
 */
async function world(t: ExecutionContext, uid: number, node: string, how: { setpriv?: boolean; init?: boolean } = {}) {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  vault.setSecret('app/db', { password: DB_PASSWORD });
  const port = await freePort();
  const { dir, cleanup } = await scratch({
    'templates/app.env.hbs': 'DB_PASSWORD={{secret "app/db/password"}}\n',
    'config.yaml': ['templates: ./templates', 'output: ./out', 'backend: vault', `listen: "127.0.0.1:${port}"`, 'schedule: "0 0 1 1 *"', 'splay: 0s', ''].join('\n'),
  });
  t.teardown(cleanup);
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'out'), { mode: 0o700 });
  await chown(join(dir, 'out'), uid, uid);
  const app = asUser(t, uid, ['/bin/sleep', '600']);
  // Why wait for the exec: the agent must find a sleep of UID `uid`, not the forked parent before it switched.
  const running = async (): Promise<boolean> => /^Name:\tsleep$/m.test(await readFile(`/proc/${app.child.pid ?? -1}/status`, 'utf8')) && new RegExp(`^Uid:\\t${uid}\\t`, 'm').test(await readFile(`/proc/${app.child.pid ?? -1}/status`, 'utf8'));
  t.true(await eventually(running), app.stderr());
  const command = [node, '--max-semi-space-size=1', cli, 'run', '--config', join(dir, 'config.yaml')];
  // `init`: a shell of the same UID starts the agent and waits for it, as `docker run --init` does with docker-init.
  const agent = asUser(t, uid, how.init === true ? ['/bin/sh', '-c', '"$@"; exit $?', 'init', ...command] : command, {
    cwd: dir, env: { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token, SECRETS_AGENT_LOG_LEVEL: 'debug' }, setpriv: how.setpriv === true,
  });
  const base = `http://127.0.0.1:${port}`;
  t.true(await eventually(async () => (await fetch(`${base}/health/ready`)).status === 200), agent.stderr());
  const status = (await (await fetch(`${base}/v1/status`)).json()) as { isolation?: Isolation };
  return { vault, agent, app, status, pid: agent.child.pid ?? -1, dir };
}

/** The execute-only node of the image: a root-owned 0711 copy of this node in a directory anyone can traverse. */
async function executeOnlyNode(t: ExecutionContext): Promise<string> {
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  await chmod(dir, 0o755);
  const node = join(dir, 'node');
  await copyFile(process.execPath, node);
  await chmod(node, 0o711);
  return node;
}

const exposures = (stderr: string) => logLines(stderr).filter((line) => line['code'] === 'ERR_CREDENTIALS_EXPOSED');

needing(missing())('from an execute-only node, a process of the agent\'s UID cannot read its environ or list its root/, and can still signal it', async (t) => {
  const uid = 10071;
  const node = await executeOnlyNode(t);
  const { agent, status, pid, app } = await world(t, uid, node);
  const seen = await probe(t, uid, pid);
  t.deepEqual(seen, { environ: 'EACCES', root: 'EACCES', signal: 'sent' });
  t.true(await eventually(() => agent.stderr().includes('refresh requested (SIGUSR1)')), 'the signal reached the agent');
  t.deepEqual(exposures(agent.stderr()), [], 'not dumpable: nothing to warn about');
  t.like(status.isolation, { exposed: false, dumpable: false, uid, credentials: ['vault (token)', 'env VAULT_TOKEN'] });
  t.true((status.isolation?.foreign ?? []).some((entry) => entry.pid === app.child.pid), 'the application was seen, and judged harmless');
  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0, agent.stderr());
});

needing(missing())('from an ordinary node, the same process reads the agent\'s VAULT_TOKEN, and the agent warned at start', async (t) => {
  const uid = 10072;
  const { agent, status, pid, vault, app } = await world(t, uid, process.execPath);
  const seen = await probe(t, uid, pid);
  t.deepEqual(seen, { environ: 'read', token: vault.token, root: 'listed', signal: 'sent' }, 'what issue 19 demonstrated');
  const warnings = exposures(agent.stderr());
  t.is(warnings.length, 1, agent.stderr());
  t.like(warnings[0], { level: 'warn', uid, credentials: 'vault (token), env VAULT_TOKEN' });
  t.regex(String(warnings[0]?.['msg']), new RegExp(`outside its process tree \\(.*${app.child.pid ?? -1} sleep.*\\) can read its environment, memory and files through /proc; run it with an execute-only node binary`));
  t.like(status.isolation, { exposed: true, code: 'ERR_CREDENTIALS_EXPOSED', dumpable: true, uid });
  const text = agent.stderr() + JSON.stringify(status);
  t.false(text.includes(vault.token), 'the token itself is never logged');
  t.false(text.includes(DB_PASSWORD));
  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0, agent.stderr());
});

const setprivMissing = (): string | undefined => missing() ?? (existsSync(SETPRIV) ? undefined : `${SETPRIV} is missing (util-linux); install it with: apt-get install -y util-linux`);

needing(setprivMissing())('from an execute-only node started by setpriv, which holds its capabilities until exec, the agent is dumpable and says so', async (t) => {
  const uid = 10073;
  const node = await executeOnlyNode(t);
  const { agent, status, pid, vault } = await world(t, uid, node, { setpriv: true });
  t.like(await probe(t, uid, pid), { environ: 'read', token: vault.token, root: 'listed' }, 'CAP_DAC_OVERRIDE at exec time: the kernel saw a readable file');
  t.is(exposures(agent.stderr()).length, 1, agent.stderr());
  t.like(status.isolation, { exposed: true, code: 'ERR_CREDENTIALS_EXPOSED', dumpable: true, uid });
  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0, agent.stderr());
});

needing(missing())('from an execute-only node under a readable init of the same UID, the init gives the token away, and the agent says so', async (t) => {
  const uid = 10074;
  const node = await executeOnlyNode(t);
  const { agent, status, pid: init, vault } = await world(t, uid, node, { init: true });
  const [agentPid] = (await readFile(`/proc/${init}/task/${init}/children`, 'utf8')).trim().split(/\s+/).map(Number);
  t.deepEqual(await probe(t, uid, agentPid ?? -1), { environ: 'EACCES', root: 'EACCES', signal: 'sent' }, 'the agent itself is not dumpable');
  t.deepEqual(await probe(t, uid, init, false), { environ: 'read', token: vault.token, root: 'listed' }, 'but the init holds the same environment and sees the same files');
  t.like(status.isolation, { exposed: true, code: 'ERR_CREDENTIALS_EXPOSED', dumpable: false, dumpableAncestors: [{ pid: init, name: 'sh' }] });
  t.regex(String(exposures(agent.stderr())[0]?.['msg']), new RegExp(`was started by a dumpable process of its UID \\(${init} sh\\)`));
  process.kill(agentPid ?? -1, 'SIGTERM');
  t.is(await agent.exited, 0, `the init exits with the agent's status 0\n${agent.stderr()}`);
});
