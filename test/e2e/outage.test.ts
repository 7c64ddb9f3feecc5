// One resolution policy for every command, and provenance that survives outages, reloads and restarts
// (docs/operations.md "Provenance"): the built CLI as a child process against the Vault emulator, a Vault that
// is down (refused port, sealed) or that lost a secret, and an environment that holds a different value.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { startVaultEmulator } from '../fakes/vault/index.js';
import type { VaultEmulator } from '../fakes/vault/index.js';
import { eventually, freePort, metricValue, startAgent } from '../helpers/agent-process.js';
import type { AgentProcess } from '../helpers/agent-process.js';
import { logLines, runCli, scratch } from '../helpers/cli.js';

const VAULT_VALUE = 'vault-db-password-7f1c';
const ENV_VALUE = 'env-db-password-0b2e';

/** A templates directory and config for `app/db/password`, with the env backend holding a different value. */
async function world(t: ExecutionContext, vaultAddress: string, token: string, listen = ''): Promise<{ dir: string; env: Record<string, string>; file: string }> {
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': 'DB_PASSWORD={{secret "app/db/password"}}\n' });
  t.teardown(cleanup);
  await writeFile(join(dir, 'config.yaml'), [
    'templates: ./templates', 'output: ./out', `listen: "${listen}"`, 'schedule: "0 0 1 1 *"', 'splay: 0s', 'retry: { min: 100ms, max: 500ms }', '',
  ].join('\n'));
  const env = { VAULT_ADDR: vaultAddress, VAULT_TOKEN: token, VAULT_NAMESPACE: 'dsta', APP_DB_PASSWORD: ENV_VALUE, SECRETS_AGENT_CONFIG: join(dir, 'config.yaml') };
  return { dir, env, file: join(dir, 'out/app.env') };
}

async function vaultWithSecret(t: ExecutionContext): Promise<VaultEmulator> {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  vault.setSecret('app/db', { password: VAULT_VALUE });
  return vault;
}

function run(t: ExecutionContext, env: Record<string, string>): AgentProcess {
  const agent = startAgent([], env);
  t.teardown(() => { agent.killGroup('SIGKILL'); });
  return agent;
}

/** Read `file` every 20 ms for `ms`; every content seen that is not exactly the Vault value's file. */
async function watchFile(file: string, ms: number): Promise<string[]> {
  const wrong: string[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const text = await readFile(file, 'utf8').catch((error: unknown) => `<${(error as NodeJS.ErrnoException).code ?? 'error'}>`);
    if (!text.includes(VAULT_VALUE)) wrong.push(text.includes(ENV_VALUE) ? 'the env value' : text);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return wrong;
}

const countOf = (stderr: string, pattern: RegExp): number => logLines(stderr).filter((line) => pattern.test(String(line['msg']))).length;

test('Vault on a refused port: once, get and check --diff fall back to env and exit 0', async (t) => {
  const port = await freePort();
  const { env, file } = await world(t, `http://127.0.0.1:${port}`, 'hvs.some-token');
  const once = await runCli(['once'], { env });
  t.is(once.code, 0, once.stderr);
  t.is(await readFile(file, 'utf8'), `DB_PASSWORD='${ENV_VALUE}'\n`);
  t.regex(once.stderr, /vault backend could not start: .*connection refused/);
  const get = await runCli(['get', 'app/db/password'], { env });
  t.is(get.code, 0, get.stderr);
  t.is(get.stdout, `${ENV_VALUE}\n`);
  const diff = await runCli(['check', '--diff'], { env });
  t.is(diff.code, 0, diff.stderr);
  t.regex(diff.stdout, /app\.env\.hbs -> .*app\.env: no changes/);
  const health = await runCli(['health', '--json'], { env });
  t.regex(health.stdout, /"backend":"vault","reachable":false,"authenticated":false/);
});

test('a sealed Vault at start: once writes the env value into a new volume, and a second once keeps it after Vault answers', async (t) => {
  const vault = await vaultWithSecret(t);
  vault.setSealed(true);
  const { env, file } = await world(t, vault.address, vault.token);
  const sealed = await runCli(['once'], { env });
  t.is(sealed.code, 0, sealed.stderr);
  t.true((await readFile(file, 'utf8')).includes(ENV_VALUE), 'a new pod falls back as the chain says');
  vault.setSealed(false);
  const unsealed = await runCli(['once'], { env });
  t.is(unsealed.code, 0, unsealed.stderr);
  t.true((await readFile(file, 'utf8')).includes(VAULT_VALUE), 'a higher backend that answers again takes the path over');
  vault.setSealed(true);
  const again = await runCli(['once'], { env });
  t.is(again.code, 1, 'the path Vault served is not served by env on the same volume');
  t.true((await readFile(file, 'utf8')).includes(VAULT_VALUE), 'the file keeps the Vault value');
  t.is(countOf(again.stderr, /vault backend unavailable while reading "app\/db\/password", which it served before/), 1, again.stderr);
  t.false(again.stderr.includes(ENV_VALUE));
});

test('a SIGHUP during a Vault outage keeps the Vault value: the reload carries the last good values and provenance', async (t) => {
  const vault = await vaultWithSecret(t);
  const { env, file } = await world(t, vault.address, vault.token);
  const agent = run(t, env);
  t.true(await eventually(async () => (await readFile(file, 'utf8').catch(() => '')).includes(VAULT_VALUE), 20_000), agent.stderr());
  vault.setSealed(true);
  agent.child.kill('SIGUSR1');
  t.true(await eventually(() => countOf(agent.stderr(), /\(stale\)/) >= 1, 20_000), agent.stderr());
  const staleBefore = countOf(agent.stderr(), /\(stale\)/);
  agent.child.kill('SIGHUP');
  t.true(await eventually(() => countOf(agent.stderr(), /configuration and templates reloaded/) === 1 && countOf(agent.stderr(), /\(stale\)/) > staleBefore, 20_000), agent.stderr());
  t.deepEqual(await watchFile(file, 5_000), []);
  t.false(agent.stderr().includes(VAULT_VALUE) || agent.stderr().includes(ENV_VALUE));
});

test('a restart during a Vault outage on the same volume never writes the env value', async (t) => {
  const vault = await vaultWithSecret(t);
  const { env, file } = await world(t, vault.address, vault.token);
  const first = run(t, env);
  t.true(await eventually(async () => (await readFile(file, 'utf8').catch(() => '')).includes(VAULT_VALUE), 20_000), first.stderr());
  vault.setSealed(true);
  first.child.kill('SIGKILL');
  await first.exited;
  const second = run(t, env);
  t.true(await eventually(() => countOf(second.stderr(), /which it served before/) >= 1, 20_000), second.stderr());
  t.deepEqual(await watchFile(file, 5_000), []);
  vault.setSealed(false);
  vault.setSecret('app/db', { password: `${VAULT_VALUE}-v2` });
  second.child.kill('SIGUSR1');
  t.true(await eventually(async () => (await readFile(file, 'utf8')).includes(`${VAULT_VALUE}-v2`), 20_000), second.stderr());
});

test('a secret deleted in Vault keeps its file, warns naming path and backend, and counts a provenance conflict', async (t) => {
  const vault = await vaultWithSecret(t);
  const port = await freePort();
  const { env, file } = await world(t, vault.address, vault.token, `127.0.0.1:${port}`);
  const agent = run(t, env);
  t.true(await eventually(async () => (await readFile(file, 'utf8').catch(() => '')).includes(VAULT_VALUE), 20_000), agent.stderr());
  vault.deleteVersions('app/db');
  t.is((await fetch(`http://127.0.0.1:${port}/v1/refresh`, { method: 'POST' })).status, 202);
  t.true(await eventually(() => logLines(agent.stderr()).some((line) => line['code'] === 'ERR_PROVENANCE_CONFLICT'), 20_000), agent.stderr());
  const conflict = logLines(agent.stderr()).find((line) => line['code'] === 'ERR_PROVENANCE_CONFLICT');
  t.like(conflict, { level: 'warn', backend: 'vault', path: 'app/db/password' });
  t.regex(String(conflict?.['msg']), /vault backend no longer has "app\/db\/password", which it served before/);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.true(metricValue(metrics, 'secret_provenance_conflicts_total', { path: 'app/db/password' }) >= 1);
  t.deepEqual(await watchFile(file, 2_500), []);
});

test('a 404 from a proxy in front of Vault is an outage, not a deletion: the Vault value stays, env never serves', async (t) => {
  const vault = await vaultWithSecret(t);
  const { env, file } = await world(t, vault.address, vault.token);
  const agent = run(t, env);
  t.true(await eventually(async () => (await readFile(file, 'utf8').catch(() => '')).includes(VAULT_VALUE), 20_000), agent.stderr());
  vault.faults.add({ kind: 'proxy', body: 'html' }, { path: 'secret/data/app/db' });
  agent.child.kill('SIGUSR1');
  t.true(await eventually(() => countOf(agent.stderr(), /\(stale\): .*HTTP 404 not from Vault/) >= 1, 20_000), agent.stderr());
  t.deepEqual(await watchFile(file, 2_500), []);
  t.false(logLines(agent.stderr()).some((line) => line['code'] === 'ERR_PROVENANCE_CONFLICT'));
});

test('an outage over many paths is one warning per cycle naming the count and the first paths, not one per path', async (t) => {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  const paths = Array.from({ length: 8 }, (_, i) => `app/s${i}`);
  for (const path of paths) vault.setSecret(path, { key: `value-of-${path}` });
  const { dir, env } = await world(t, vault.address, vault.token);
  await writeFile(join(dir, 'templates/app.env.hbs'), paths.map((path, i) => `K${i}={{secret "${path}/key"}}\n`).join(''));
  const agent = run(t, { ...env, SECRETS_AGENT_LOG_LEVEL: 'info' });
  t.true(await eventually(async () => (await readFile(join(dir, 'out/app.env'), 'utf8').catch(() => '')).includes('value-of-app/s7'), 20_000), agent.stderr());
  vault.setSealed(true);
  agent.child.kill('SIGUSR1');
  t.true(await eventually(() => countOf(agent.stderr(), /\(stale\)/) >= 1, 20_000), agent.stderr());
  const stale = logLines(agent.stderr()).filter((line) => /\(stale\)/.test(String(line['msg'])));
  t.is(stale.length, 1, agent.stderr());
  t.regex(String(stale[0]?.['msg']), /^serving the last good value of 8 paths from vault \(stale\) \("app\/s0\/key", "app\/s1\/key", "app\/s2\/key" and 5 more\): .*HTTP 503: Vault is sealed$/);
  t.like(stale[0], { level: 'warn', backend: 'vault', paths: 8, path: 'app/s0/key' });
  t.false(agent.stderr().includes('value-of-'), 'no value is logged');
});

test('a restart on the same volume with VAULT_ADDR unset (Vault no longer in the chain) fails the path and keeps the Vault value', async (t) => {
  const vault = await vaultWithSecret(t);
  const { env, file } = await world(t, vault.address, vault.token);
  const first = await runCli(['once'], { env });
  t.is(first.code, 0, first.stderr);
  t.true((await readFile(file, 'utf8')).includes(VAULT_VALUE));
  const withoutVault = { ...env };
  delete withoutVault['VAULT_ADDR'];
  const again = await runCli(['once'], { env: withoutVault });
  t.is(again.code, 1, again.stderr);
  t.true((await readFile(file, 'utf8')).includes(VAULT_VALUE), 'the file keeps the Vault value, never the env one');
  t.is(countOf(again.stderr, /vault backend is no longer in the chain and served "app\/db\/password" before/), 1, again.stderr);
  t.false(again.stderr.includes(ENV_VALUE));
});

test('--backend env on a volume Vault served: the forced backend answers alone, and the provenance still names Vault', async (t) => {
  const vault = await vaultWithSecret(t);
  const { dir, env, file } = await world(t, vault.address, vault.token);
  t.is((await runCli(['once'], { env })).code, 0);
  const provenance = join(dir, 'out/.secrets-agent/provenance.json');
  const before = await readFile(provenance, 'utf8');
  t.regex(before, /"vault"/);
  const forced = await runCli(['once', '--backend', 'env'], { env });
  t.is(forced.code, 0, forced.stderr);
  t.is(await readFile(file, 'utf8'), `DB_PASSWORD='${ENV_VALUE}'\n`, 'the operator asked for env');
  t.is(await readFile(provenance, 'utf8'), before, 'a forced backend records nothing');
  const get = await runCli(['get', 'app/db/password', '--backend', 'env'], { env });
  t.is(get.stdout, `${ENV_VALUE}\n`, get.stderr);
});

test('a once beside run records Vault for a path run had from env: run, in the next outage, keeps the Vault file', async (t) => {
  const vault = await vaultWithSecret(t);
  vault.setSealed(true);
  const { env, file } = await world(t, vault.address, vault.token);
  const agent = run(t, env);
  t.true(await eventually(async () => (await readFile(file, 'utf8').catch(() => '')).includes(ENV_VALUE), 20_000), agent.stderr());
  vault.setSealed(false);
  const once = await runCli(['once'], { env });
  t.is(once.code, 0, once.stderr);
  t.true((await readFile(file, 'utf8')).includes(VAULT_VALUE), 'once took the path over for Vault');
  vault.setSealed(true);
  agent.child.kill('SIGUSR1');
  t.true(await eventually(() => countOf(agent.stderr(), /^cycle \(SIGUSR1\)/) === 1, 20_000), agent.stderr());
  t.true((await readFile(file, 'utf8')).includes(VAULT_VALUE), `run read the owner once recorded and did not write env over it\n${agent.stderr()}`);
  t.regex(agent.stderr(), /which it served before/);
});
