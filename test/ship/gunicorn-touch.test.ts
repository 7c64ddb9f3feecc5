// The default deployment of examples/docker-compose and examples/kubernetes, for real: the built agent as UID 10001
// and the example api-server under Debian's gunicorn as UID 10002, both in group 10000 and nothing else shared.
// The agent renders the compose templates (mode 0640, group 10000) with the file backend and touches the marker;
// the example's own gunicorn.conf.py watches it in the master and reloads the workers, which read the new files.
// The api-server cannot read the agent's /proc/<pid>/environ: another UID.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { parse, stringify } from 'yaml';
import { eventually, freePort, trackGroup } from '../helpers/agent-process.js';
import { cli, gunicornMissing, needing, pythonDotenvMissing } from '../helpers/cli.js';
import { examples } from './example-files.js';

const SETPRIV = '/usr/bin/setpriv';
const AGENT = 10001;
const APP = 10002;
const GROUP = 10000;
const compose = join(examples, 'docker-compose');

function missing(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root to run the agent and gunicorn as two users (CI runs as root)';
  if (!existsSync(SETPRIV)) return `${SETPRIV} is missing (util-linux): it gives the processes their shared group`;
  if (!existsSync('/dev/shm')) return 'no /dev/shm: the example configuration requires a tmpfs output';
  const probe = spawnSync(process.execPath, ['-e', 'require("fs").accessSync(process.argv[1], 4)', cli], { uid: AGENT, gid: AGENT });
  if (probe.status !== 0) return `UID ${AGENT} cannot read ${cli} (a parent directory is private, or dist/ is not built)`;
  return gunicornMissing() ?? pythonDotenvMissing();
}

/** `argv` as `uid` with the one extra group; its own process group, killed with the test. */
function as(t: ExecutionContext, uid: number, argv: readonly string[], env: Record<string, string>, cwd = '/') {
  const child = spawn(SETPRIV, [`--reuid=${uid}`, `--regid=${uid}`, `--groups=${GROUP}`, '--', ...argv], { cwd, env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killGroup = trackGroup(child);
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { log += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { log += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    killGroup('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    killGroup('SIGKILL');
  });
  return { child, exited, log: () => log };
}

/** A directory owned by `uid`:`gid` with `mode`. */
async function dirFor(path: string, uid: number, gid: number, mode: number): Promise<string> {
  await mkdir(path);
  await chown(path, uid, gid);
  await chmod(path, mode);
  return path;
}

const fingerprint = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 12);
const hups = (log: string): number => log.split('\n').filter((line) => line.includes('Handling signal: hup')).length;

needing(missing())('two UIDs, one group: the agent\'s touch marker makes gunicorn reload, the app reads the 0640 files, and cannot read the agent\'s environ', async (t) => {
  const base = await mkdtemp('/dev/shm/sa-two-uids-');
  t.teardown(() => rm(base, { recursive: true, force: true }));
  await chmod(base, 0o755);
  const output = await dirFor(join(base, 'secrets'), AGENT, GROUP, 0o750);
  const reload = await dirFor(join(base, 'reload'), AGENT, GROUP, 0o750);
  const appRun = await dirFor(join(base, 'app-run'), APP, APP, 0o755);
  const secrets = parse(await readFile(join(examples, 'quickstart/secrets.yaml'), 'utf8')) as { app: { secret_key: string } };
  const write = (key: string): Promise<void> => writeFile(join(base, 'secrets.yaml'), stringify({ ...secrets, app: { ...secrets.app, secret_key: key } }), { mode: 0o644 });
  await write('first key of two uids');
  const agentPort = await freePort();
  const config = parse(await readFile(join(compose, 'agent/secrets-agent.yaml'), 'utf8')) as Record<string, unknown>;
  const marker = join(reload, 'secrets-changed');
  await writeFile(join(base, 'secrets-agent.yaml'), stringify({
    ...config, templates: join(compose, 'templates'), output, backend: 'file', file: { path: join(base, 'secrets.yaml') },
    listen: `127.0.0.1:${agentPort}`, schedule: '0 0 1 1 *', splay: '0s', notifiers: { 'api-server': { touch: marker } },
  }), { mode: 0o644 });
  t.is((config['notifiers'] as Record<string, { touch?: string }>)['api-server']?.touch, '/run/reload/secrets-changed', 'the example\'s own notifier is a touch');

  const agent = as(t, AGENT, [process.execPath, cli, 'run', '--config', join(base, 'secrets-agent.yaml')], { VAULT_TOKEN: 'hvs.not-for-the-app' });
  t.true(await eventually(async () => (await fetch(`http://127.0.0.1:${agentPort}/health/ready`)).status === 200), agent.log());
  for (const name of ['app.env', 'config.json']) {
    const info = await stat(join(output, name));
    t.deepEqual([info.uid, info.gid, info.mode & 0o777], [AGENT, GROUP, 0o640], name);
  }

  const appPort = await freePort();
  const app = join(compose, 'api-server');
  const gunicorn = as(t, APP, [
    '/usr/bin/gunicorn', '--config', join(app, 'gunicorn.conf.py'), '--chdir', app, '--bind', `127.0.0.1:${appPort}`,
    '--pid', join(appRun, 'gunicorn.pid'), '--worker-tmp-dir', appRun, '--graceful-timeout', '5', 'app:application',
  ], { PYTHONDONTWRITEBYTECODE: '1', SECRETS_DIR: output, RELOAD_MARKER: marker, RELOAD_POLL_SECONDS: '0.2' });
  const url = `http://127.0.0.1:${appPort}/`;
  const key = async (): Promise<string | null | undefined> => ((await (await fetch(url, { signal: AbortSignal.timeout(15_000) })).json()) as { fingerprints: Record<string, string | null> }).fingerprints['SECRET_KEY'];
  t.true(await eventually(async () => (await key()) === fingerprint('first key of two uids'), 20_000), gunicorn.log());
  const master = Number((await readFile(join(appRun, 'gunicorn.pid'), 'utf8')).trim());

  await write('second key of two uids');
  const fresh = async (): Promise<boolean> => {
    for (let i = 0; i < 4; i++) if ((await key()) !== fingerprint('second key of two uids')) return false;
    return true;
  };
  t.true(await eventually(fresh, 30_000), `${agent.log()}\n${gunicorn.log()}`);
  t.regex(gunicorn.log(), /secrets-changed changed: reloading workers/);
  t.is(hups(gunicorn.log()), 1, 'one reload for one change');
  t.is(Number((await readFile(join(appRun, 'gunicorn.pid'), 'utf8')).trim()), master, 'the master kept its pid');

  const peek = spawnSync(process.execPath, ['-e', 'try { require("fs").readFileSync(process.argv[1]); console.log("read") } catch (e) { console.log(e.code) }', `/proc/${agent.child.pid ?? -1}/environ`], { uid: APP, gid: APP, encoding: 'utf8' });
  t.is(peek.stdout.trim(), 'EACCES', 'the app\'s UID cannot read the agent\'s environment');
  t.false(`${agent.log()}${gunicorn.log()}`.includes('second key of two uids'), 'no value in either log');
});
