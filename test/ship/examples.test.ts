// Every example is runnable: each configuration passes `check`, and each renders for real — the Vault ones
// against the Vault emulator with a token holding only the example's own policy, the AWS one against the AWS
// emulator seeded by its seed.sh, the env one from its example.env — and the consumers (Django settings, the
// compose api-server under gunicorn) read what was rendered.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { parse, stringify } from 'yaml';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import type { VaultEmulator } from '../fakes/vault/index.js';
import { eventually, freePort } from '../helpers/agent-process.js';
import { needing, runCli, scratch } from '../helpers/cli.js';
import { examples, kubernetesConfigMaps, readEnvFile } from './example-files.js';

const NO_VAULT = { VAULT_ADDR: 'http://127.0.0.1:1' };
/** The compose and Kubernetes templates give their files group 10000 (the app's group): only root may, unless in it. */
const group10000 = process.getuid?.() === 0 || (process.getgroups?.() ?? []).includes(10000) ? undefined : 'the templates write files with gid 10000 (the shared group of the compose and Kubernetes examples): run as root (CI does) or as a member of group 10000';
const OFFLINE_AWS = { AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey };

/** A directory on tmpfs, for the configurations that say `requireTmpfs: true`. */
async function tmpfsDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp('/dev/shm/sa-ship-');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The words of one shell command line: bare words and single-quoted strings (all the seed scripts use). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/(?:[^\s']+|'[^']*')+/g)) words.push(match[0].replace(/'([^']*)'/g, '$1'));
  return words;
}

/** `vault kv put -mount=secret <path> k=v ...` lines of a seed script, as [path, data]. */
async function vaultSeed(script: string): Promise<Array<[string, Record<string, string>]>> {
  const lines = (await readFile(script, 'utf8')).split('\n').filter((line) => line.startsWith('vault kv put '));
  return lines.map((line) => {
    const [, , , mount, path = '', ...pairs] = shellWords(line);
    if (mount !== '-mount=secret') throw new Error(`unexpected seed line: ${line}`);
    return [path, Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]))];
  });
}

async function seededVault(t: ExecutionContext): Promise<{ vault: VaultEmulator; seeded: Array<[string, Record<string, string>]> }> {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  const seeded = await vaultSeed(join(examples, 'vault-kv/seed.sh'));
  for (const [path, data] of seeded) vault.setSecret(path, data);
  return { vault, seeded };
}


async function writeKubernetesExample(dir: string, edit: (config: Record<string, unknown>) => void = () => undefined, configFrom?: string): Promise<string> {
  const { templates } = await kubernetesConfigMaps();
  const { config } = await kubernetesConfigMaps(configFrom);
  await mkdir(join(dir, 'templates'));
  for (const [name, text] of Object.entries(templates)) await writeFile(join(dir, 'templates', name), text);
  const parsed = parse(config) as Record<string, unknown>;
  edit(parsed);
  await writeFile(join(dir, 'secrets-agent.yaml'), stringify(parsed));
  return join(dir, 'secrets-agent.yaml');
}

interface CheckCase {
  readonly example: string;
  readonly args: (dir: string) => Promise<string[]>;
  readonly env?: Record<string, string>;
}

const CHECKS: readonly CheckCase[] = [
  { example: 'quickstart', args: () => Promise.resolve(['--config', 'examples/quickstart/secrets-agent.yaml']) },
  { example: 'vault-kv', args: () => Promise.resolve(['--config', 'examples/vault-kv/secrets-agent.yaml']), env: NO_VAULT },
  { example: 'vault-dynamic', args: () => Promise.resolve(['--config', 'examples/vault-dynamic/secrets-agent.yaml']), env: NO_VAULT },
  { example: 'aws-secrets-manager', args: () => Promise.resolve(['--config', 'examples/aws-secrets-manager/secrets-agent.yaml']), env: { AWS_EC2_METADATA_DISABLED: 'true' } },
  { example: 'env-only', args: () => Promise.resolve(['--config', 'examples/env-only/secrets-agent.yaml']) },
  { example: 'django', args: () => Promise.resolve(['--config', 'examples/django/secrets-agent.yaml']), env: NO_VAULT },
  // The compose config names the in-container path of its templates; --templates points at the same directory here.
  { example: 'docker-compose', args: () => Promise.resolve(['--config', 'examples/docker-compose/agent/secrets-agent.yaml', '--templates', 'examples/docker-compose/templates']), env: NO_VAULT },
  { example: 'kubernetes', args: async (dir) => ['--config', await writeKubernetesExample(dir), '--templates', join(dir, 'templates')], env: NO_VAULT },
  // The one-UID overlay: its ConfigMap patch's config, with the base's templates.
  { example: 'kubernetes-signal', args: async (dir) => ['--config', await writeKubernetesExample(dir, () => undefined, 'kubernetes-signal/configmap-patch.yaml'), '--templates', join(dir, 'templates')], env: NO_VAULT },
];

test('every example folder has a README and a configuration that check is run on', async (t) => {
  const folders = (await readdir(examples, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  t.deepEqual(folders, CHECKS.map((entry) => entry.example).sort());
  for (const folder of folders.filter((name) => name !== 'quickstart')) {
    const readme = await readFile(join(examples, folder, 'README.md'), 'utf8');
    t.regex(readme, /^# /, folder);
    t.regex(readme, /## Run it|## Deploy/, `${folder}: the README says how to run it`);
  }
});

for (const entry of CHECKS) {
  test(`secrets-agent check passes on the ${entry.example} example`, async (t) => {
    const { dir, cleanup } = await scratch({});
    t.teardown(cleanup);
    const result = await runCli(['check', ...(await entry.args(dir))], { env: entry.env ?? {} });
    t.is(result.code, 0, result.stdout + result.stderr);
    t.regex(result.stdout, /\n\d+ templates, \d+ dependencies \(\d+ unique secret paths\), 0 problems\n$/);
    t.notRegex(result.stdout, /problem:/);
  });
}

test('the Vault example renders against the Vault emulator with a token holding only its policy', async (t) => {
  const { vault, seeded } = await seededVault(t);
  vault.setPolicy('secrets-agent-api-server', await readFile(join(examples, 'vault-kv/policy.hcl'), 'utf8'));
  const token = vault.createToken({ ttl: 3600, maxTtl: 7200, policies: ['default', 'secrets-agent-api-server'], renewable: true });
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const result = await runCli(['once', '--config', 'examples/vault-kv/secrets-agent.yaml', '--output', dir], { env: { VAULT_ADDR: vault.address, VAULT_TOKEN: token } });
  t.is(result.code, 0, result.stderr);
  const data = Object.fromEntries(seeded);
  t.like(await readEnvFile(join(dir, 'app.env')), {
    SECRET_KEY: data['app']?.['secret_key'], BINANCE_API_KEY: data['exchange/binance']?.['api_key'], BINANCE_TESTNET: 'true',
    SENTRY_DSN: data['monitoring']?.['sentry_dsn'], SLACK_WEBHOOK_URL: data['notifications']?.['slack_webhook_url'],
  });
  t.deepEqual(await readEnvFile(join(dir, 'database.env')), Object.fromEntries(Object.entries(data['database/postgres'] ?? {}).map(([key, value]) => [`POSTGRES_${key.toUpperCase()}`, value])));
  t.is(vault.counters.count({ route: 'kv', method: 'GET' }), 5, 'one GET per secret, however many keys');
  t.is(vault.counters.count({ path: /^sys\/internal\/ui\/mounts/ }), 0, 'kvVersion: 2 skips detection');
});

needing(group10000)('the compose templates render from the dev Vault seed with the Vault example policy', async (t) => {
  const { vault, seeded } = await seededVault(t);
  vault.setPolicy('secrets-agent-api-server', await readFile(join(examples, 'vault-kv/policy.hcl'), 'utf8'));
  const token = vault.createToken({ ttl: 3600, policies: ['default', 'secrets-agent-api-server'], renewable: true });
  const output = await tmpfsDir(t);
  const result = await runCli(['once', '--config', 'examples/docker-compose/agent/secrets-agent.yaml', '--templates', 'examples/docker-compose/templates', '--output', output], { env: { VAULT_ADDR: vault.address, VAULT_TOKEN: token } });
  t.is(result.code, 0, result.stderr);
  const data = Object.fromEntries(seeded);
  t.is((await readEnvFile(join(output, 'app.env')))['SECRET_KEY'], data['app']?.['secret_key']);
  const config = JSON.parse(await readFile(join(output, 'config.json'), 'utf8')) as { database: Record<string, string> };
  t.is(config.database['password'], data['database/postgres']?.['password']);
  t.is(config.database['name'], data['database/postgres']?.['database']);
});

needing(group10000)('the Kubernetes example renders through a Kubernetes login whose token carries only its policy', async (t) => {
  const { vault, seeded } = await seededVault(t);
  vault.setPolicy('api-server-read', await readFile(join(examples, 'kubernetes/vault/policy.hcl'), 'utf8'));
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZHN0YTphcGktc2VydmVyIn0.fake';
  vault.addKubernetesRole({ role: 'api-server', jwt, mount: 'kubernetes', token: { ttl: 3600, maxTtl: 86_400, policies: ['default', 'api-server-read'], renewable: true } });
  const { dir, cleanup } = await scratch({ 'vault/token': jwt });
  t.teardown(cleanup);
  const config = await writeKubernetesExample(dir, (parsed) => {
    const auth = (parsed['vault'] as { auth: Record<string, unknown> }).auth;
    t.is(auth['jwtFile'], '/var/run/secrets/vault/token');
    auth['jwtFile'] = join(dir, 'vault/token');
  });
  const output = await tmpfsDir(t);
  const result = await runCli(['once', '--config', config, '--templates', join(dir, 'templates'), '--output', output], { env: { VAULT_ADDR: vault.address } });
  t.is(result.code, 0, result.stderr);
  t.is(vault.counters.count({ route: 'login:kubernetes' }), 1);
  const data = Object.fromEntries(seeded);
  t.is((await readEnvFile(join(output, 'app.env')))['BINANCE_API_SECRET'], data['exchange/binance']?.['api_secret']);
  const rendered = JSON.parse(await readFile(join(output, 'config.json'), 'utf8')) as { database: Record<string, string | undefined> };
  t.is(rendered.database['host'], data['database/postgres']?.['host']);
});

test('the AWS example renders against the AWS emulator seeded by its seed.sh, in two batch reads', async (t) => {
  const aws = await startAwsEmulator({ region: 'eu-central-1' });
  t.teardown(() => aws.close());
  const lines = (await readFile(join(examples, 'aws-secrets-manager/seed.sh'), 'utf8')).split('\n').filter((line) => line.startsWith('aws secretsmanager create-secret '));
  const seeded = new Map<string, string>();
  for (const line of lines) {
    const words = shellWords(line);
    const name = words[words.indexOf('--name') + 1] ?? '';
    const value = words[words.indexOf('--secret-string') + 1] ?? '';
    seeded.set(name, value);
    aws.putSecret(name, value);
  }
  t.is(seeded.size, 7);
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const result = await runCli(['once', '--config', 'examples/aws-secrets-manager/secrets-agent.yaml', '--output', dir], { env: { ...OFFLINE_AWS, AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint } });
  t.is(result.code, 0, result.stderr);
  const json = (name: string): Record<string, unknown> => JSON.parse(seeded.get(name) ?? '{}') as Record<string, unknown>;
  t.like(await readEnvFile(join(dir, 'app.env')), {
    SECRET_KEY: json('dsta/app')['secret_key'], GATEIO_API_SECRET: json('dsta/exchange/gateio')['api_secret'],
    SENTRY_DSN: seeded.get('dsta/monitoring/sentry_dsn'), SLACK_WEBHOOK_URL: seeded.get('dsta/notifications/slack_webhook_url'),
  });
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { database: Record<string, string>; redis: { password: string } };
  t.deepEqual(config.database, { host: 'postgres', port: '5432', user: 'dsta', password: 'FAKE-postgres-p@ss"word', name: 'trading' });
  t.is<unknown, unknown>(config.redis.password, json('dsta/database/redis')['password']);
  t.is(aws.counters['BatchGetSecretValue'], 2, 'the JSON secrets in one call, the two plain ones in another (README)');
  t.is(aws.counters['GetSecretValue'] ?? 0, 0);
});

test('the env-only example renders from its example.env', async (t) => {
  const env = parseEnv(await readFile(join(examples, 'env-only/example.env'), 'utf8')) as Record<string, string>;
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const result = await runCli(['once', '--config', 'examples/env-only/secrets-agent.yaml', '--output', dir], { env });
  t.is(result.code, 0, result.stderr);
  t.deepEqual(await readEnvFile(join(dir, 'app.env')), {
    SECRET_KEY: env['DJANGO_SECRET_KEY'], BINANCE_API_KEY: env['DSTA_BINANCE_API_KEY'], BINANCE_API_SECRET: env['DSTA_BINANCE_API_SECRET'], SLACK_WEBHOOK_URL: '',
  });
  t.deepEqual(await readEnvFile(join(dir, 'database.env')), { POSTGRES_HOST: env['DSTA_POSTGRES_HOST'], POSTGRES_PASSWORD: env['DSTA_POSTGRES_PASSWORD'] });
});

interface Quickstart {
  app: { secret_key: string };
  exchange: Record<string, { api_key: string; api_secret: string; testnet?: boolean }>;
  database: { postgres: { host: string; port: number; user: string; password: string; database: string }; redis: { password: string } };
  monitoring: { sentry_dsn: string };
}

const quickstart = async (): Promise<Quickstart> => parse(await readFile(join(examples, 'quickstart/secrets.yaml'), 'utf8')) as Quickstart;
const FILE_BACKEND = { SECRETS_AGENT_FILE: join(examples, 'quickstart/secrets.yaml') };

function python(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/python3', args, { env: { PATH: '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

test('the Django settings read every value from the files its templates render', async (t) => {
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const rendered = await runCli(['once', '--config', 'examples/django/secrets-agent.yaml', '--backend', 'file', '--output', dir], { env: FILE_BACKEND });
  t.is(rendered.code, 0, rendered.stderr);
  const script = 'import json, settings\nprint(json.dumps({"SECRET_KEY": settings.SECRET_KEY, "DATABASES": settings.DATABASES, "EXCHANGES": settings.EXCHANGES, "SENTRY_DSN": settings.SENTRY_DSN, "SLACK_WEBHOOK_URL": settings.SLACK_WEBHOOK_URL, "REDIS": settings.CACHES["default"]["OPTIONS"]["password"]}))';
  const result = await python(['-c', script], { SECRETS_DIR: dir, PYTHONPATH: join(examples, 'django') });
  t.is(result.code, 0, result.stderr);
  const settings = JSON.parse(result.stdout) as { SECRET_KEY: string; DATABASES: { default: Record<string, unknown> }; EXCHANGES: Record<string, Record<string, unknown>>; SENTRY_DSN: string; SLACK_WEBHOOK_URL: string; REDIS: string };
  const secrets = await quickstart();
  t.is(settings.SECRET_KEY, secrets.app.secret_key);
  const pg = secrets.database.postgres;
  t.like(settings.DATABASES.default, { HOST: pg.host, PORT: pg.port, USER: pg.user, PASSWORD: pg.password, NAME: pg.database });
  t.deepEqual(settings.EXCHANGES['binance'], { api_key: secrets.exchange['binance']?.api_key, api_secret: secrets.exchange['binance']?.api_secret, testnet: true });
  t.deepEqual(settings.EXCHANGES['gateio'], { api_key: secrets.exchange['gateio']?.api_key, api_secret: secrets.exchange['gateio']?.api_secret, testnet: false });
  t.is(settings.SENTRY_DSN, secrets.monitoring.sentry_dsn);
  t.is(settings.REDIS, secrets.database.redis.password);

  const missing = await python(['-c', 'import settings'], { SECRETS_DIR: join(dir, 'nowhere'), PYTHONPATH: join(examples, 'django') });
  t.not(missing.code, 0);
  t.regex(missing.stderr, /app\.env is missing: is secrets-agent running/);
});

needing(group10000)('the compose api-server answers under Debian gunicorn with its own gunicorn.conf.py, showing fingerprints, never values', async (t) => {
  const output = await tmpfsDir(t);
  const rendered = await runCli(['once', '--config', 'examples/docker-compose/agent/secrets-agent.yaml', '--templates', 'examples/docker-compose/templates', '--output', output, '--backend', 'file'], { env: FILE_BACKEND });
  t.is(rendered.code, 0, rendered.stderr);
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const port = await freePort();
  const app = join(examples, 'docker-compose/api-server');
  const gunicorn = spawn('/usr/bin/gunicorn', ['--config', join(app, 'gunicorn.conf.py'), '--chdir', app, '--bind', `127.0.0.1:${port}`, '--pid', join(dir, 'gunicorn.pid'), '--worker-tmp-dir', dir, 'app:application'], {
    env: { PATH: '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1', SECRETS_DIR: output }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  gunicorn.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const exited = new Promise((resolve) => gunicorn.once('exit', resolve));
  t.teardown(async () => {
    gunicorn.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    gunicorn.kill('SIGKILL');
  });
  const base = `http://127.0.0.1:${port}`;
  t.true(await eventually(async () => (await fetch(`${base}/healthz`)).ok, 20_000), log);
  const text = await (await fetch(`${base}/`)).text();
  const body = JSON.parse(text) as { settings: string[]; fingerprints: Record<string, string | null>; database: Record<string, unknown> };
  const secrets = await quickstart();
  t.deepEqual(body.settings, ['BINANCE_API_KEY', 'BINANCE_API_SECRET', 'BINANCE_TESTNET', 'SECRET_KEY', 'SENTRY_DSN', 'SLACK_WEBHOOK_URL']);
  t.is(body.fingerprints['SECRET_KEY'], createHash('sha256').update(secrets.app.secret_key).digest('hex').slice(0, 12));
  t.like(body.database, { host: 'postgres', port: 5432, name: 'trading' });
  for (const value of [secrets.app.secret_key, secrets.database.postgres.password, secrets.exchange['binance']?.api_key ?? '']) t.false(text.includes(value), 'no secret value in the answer');
  t.is((await fetch(`${base}/nope`)).status, 404);
});
