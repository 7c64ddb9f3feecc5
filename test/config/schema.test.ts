import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as z from 'zod';
import { writeConfigSchema } from '../../agent/config/emit-schema.js';
import { configJsonSchema, configSchema } from '../../agent/config/schema.js';
import { tempDir } from './_files.js';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON Schema read back as a validator by an independent reader (zod's JSON Schema importer). */
const jsonSchemaValidator = z.fromJSONSchema(configJsonSchema());

/** Every object schema node of a JSON Schema, with its location. */
function objectNodes(node: unknown, at = '#'): [string, Json][] {
  if (Array.isArray(node)) return node.flatMap((item, index) => objectNodes(item, `${at}/${index}`));
  if (!isObject(node)) return [];
  const own: [string, Json][] = node['type'] === 'object' ? [[at, node]] : [];
  return [...own, ...Object.entries(node).flatMap(([key, child]) => objectNodes(child, `${at}/${key}`))];
}

const designExample = {
  templates: '/etc/secrets-agent/templates', output: '/secrets', backend: 'auto', chain: ['vault', 'aws', 'file', 'env'],
  vault: {
    address: 'https://vault:8200', namespace: 'dsta', mount: 'secret', kvVersion: 'auto', caCert: '/etc/ssl/vault-ca.pem', tlsSkipVerify: false, timeout: '10s',
    auth: { method: 'token', tokenFile: '/vault/token', roleIdFile: '/vault/role-id', secretIdFile: '/vault/secret-id', role: 'api-server', jwtFile: '/var/run/secrets/kubernetes.io/serviceaccount/token', mountPath: 'approle' },
  },
  aws: { region: 'us-east-1', prefix: 'dsta/', versionStage: 'AWSCURRENT' },
  file: { path: './secrets.yaml' },
  env: { prefix: '', map: {} },
  schedule: '*/5 * * * *', splay: '30s', wait: { min: '0s', max: '0s' }, notifyOnStart: false,
  notifiers: {
    app: { signal: 'SIGHUP', process: 'gunicorn' },
    nginx: { command: ['nginx', '-s', 'reload'], timeout: '30s' },
    hook: { http: { url: 'http://127.0.0.1:8000/-/reload', method: 'POST' }, timeout: '5s' },
    mark: { touch: '/secrets/.changed' },
  },
  listen: '127.0.0.1:9876', requireTmpfs: false, retry: { min: '250ms', max: '60s' }, log: { level: 'info', format: 'json', audit: true },
};

test('the example config of docs/configuration.md is valid for the zod schema and for the JSON Schema', (t) => {
  t.true(configSchema.safeParse(designExample).success);
  t.true(jsonSchemaValidator.safeParse(designExample).success);
});

test('the JSON Schema rejects an unknown key at the top and in nested objects', (t) => {
  t.false(jsonSchemaValidator.safeParse({ bogus: 1 }).success);
  t.false(jsonSchemaValidator.safeParse({ vault: { adress: 'https://vault:8200' } }).success);
  t.false(jsonSchemaValidator.safeParse({ vault: { auth: { tokn: 'x' } } }).success);
  t.false(jsonSchemaValidator.safeParse({ notifiers: { app: { touch: '/x', extra: true } } }).success);
  t.false(configSchema.safeParse({ bogus: 1 }).success, 'the zod schema agrees');
});

test('every object in the JSON Schema forbids additional properties', (t) => {
  const objects = objectNodes(configJsonSchema()).filter(([, node]) => isObject(node['properties']));
  t.true(objects.length >= 15, `found ${objects.length}`);
  for (const [at, node] of objects) t.is(node['additionalProperties'], false, at);
});

test('the JSON Schema lists exactly the top-level keys of the zod schema', (t) => {
  const properties = configJsonSchema()['properties'];
  if (!isObject(properties)) return t.fail('no properties');
  t.deepEqual(Object.keys(properties).sort(), Object.keys(configSchema.shape).sort());
  for (const key of ['templates', 'output', 'backend', 'chain', 'vault', 'aws', 'file', 'env', 'schedule', 'splay', 'wait', 'notifyOnStart', 'notifiers', 'listen', 'requireTmpfs', 'retry', 'log']) {
    t.true(Object.hasOwn(properties, key), key);
  }
});

test('the JSON Schema describes the input side: durations are strings with units, with their defaults', (t) => {
  const schema = configJsonSchema();
  t.is(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
  t.is(schema['title'], 'secrets-agent configuration');
  t.like(schema, { properties: { splay: { type: 'string', default: '30s' }, listen: { default: '127.0.0.1:9876' }, vault: { properties: { namespace: { default: 'dsta' } } } } });
  t.true(jsonSchemaValidator.safeParse({ splay: '1m30s' }).success);
  t.false(jsonSchemaValidator.safeParse({ splay: 30 }).success);
  t.false(jsonSchemaValidator.safeParse({ splay: '1.5m' }).success);
  t.false(jsonSchemaValidator.safeParse({ notifiers: { app: { signal: 'SIGHUP', process: 'x', pidFile: '/p' } } }).success, 'process xor pidFile');
});

test('writeConfigSchema and the emit-schema script write the same JSON Schema', async (t) => {
  const dir = await tempDir(t);
  await writeConfigSchema(join(dir, 'nested/a.json'));
  const script = fileURLToPath(new URL('../../agent/config/emit-schema.ts', import.meta.url));
  await promisify(execFile)(process.execPath, ['--import', 'tsx', script, join(dir, 'b.json')]);
  const a = await readFile(join(dir, 'nested/a.json'), 'utf8');
  t.is(a, await readFile(join(dir, 'b.json'), 'utf8'));
  t.deepEqual(JSON.parse(a), configJsonSchema());
  t.true(a.endsWith('}\n'));
});

test('notifiers take exactly one of signal, command, http or touch, with their defaults', (t) => {
  const parse = (notifier: unknown) => configSchema.safeParse({ notifiers: { n: notifier } });
  t.deepEqual(parse({ signal: 'SIGHUP', process: 'gunicorn' }).data?.notifiers['n'], { signal: 'SIGHUP', process: 'gunicorn', all: false });
  t.deepEqual(parse({ signal: 'SIGUSR1', pidFile: '/run/app.pid' }).data?.notifiers['n'], { signal: 'SIGUSR1', pidFile: '/run/app.pid' });
  t.deepEqual(parse({ command: ['nginx', '-s', 'reload'] }).data?.notifiers['n'], { command: ['nginx', '-s', 'reload'], timeout: 30_000 });
  t.deepEqual(parse({ http: { url: 'http://127.0.0.1:8000/-/reload' }, timeout: '5s' }).data?.notifiers['n'], {
    http: { url: 'http://127.0.0.1:8000/-/reload', method: 'POST', headers: {} }, timeout: 5_000,
  });
  t.deepEqual(parse({ touch: '/secrets/.changed' }).data?.notifiers['n'], { touch: '/secrets/.changed' });
  for (const bad of [{}, { signal: 'SIGHUP' }, { signal: 'SIGHUP', process: 'a', pidFile: '/b' }, { signal: 'HUP', process: 'a' }, { touch: '/x', command: ['x'] }, { command: [] }, { http: { url: 'ftp://x' } }, { signal: 'SIGHUP', pidFile: '/p', all: true }]) {
    t.false(parse(bad).success, JSON.stringify(bad));
  }
});

test('listen accepts host:port or "" and nothing else', (t) => {
  for (const good of ['127.0.0.1:9876', '0.0.0.0:80', 'localhost:9876', '[::1]:9876', '']) t.true(configSchema.safeParse({ listen: good }).success, good);
  for (const bad of ['9876', 'localhost', '127.0.0.1:0', '127.0.0.1:65536', '::1:9876', '[127.0.0.1]:80', 'host name:80', 'http://127.0.0.1:9876']) {
    t.false(configSchema.safeParse({ listen: bad }).success, bad);
  }
});

test('schedule must look like a 5- or 6-field cron expression', (t) => {
  for (const good of ['*/5 * * * *', '0 */2 * * * *', '0 9 * * MON-FRI', '15,45 * * * *']) t.true(configSchema.safeParse({ schedule: good }).success, good);
  for (const bad of ['* * * *', '* * * * * * *', 'every 5 minutes', '*/5 * * * $', '']) t.false(configSchema.safeParse({ schedule: bad }).success, bad);
});

test('cross-key rules: chain unique, wait and retry min ≤ max, retry min above zero, client cert with key', (t) => {
  t.false(configSchema.safeParse({ chain: ['vault', 'vault'] }).success);
  t.false(configSchema.safeParse({ chain: [] }).success);
  t.false(configSchema.safeParse({ chain: ['vault', 'consul'] }).success);
  t.true(configSchema.safeParse({ chain: ['env', 'file'] }).success);
  t.false(configSchema.safeParse({ wait: { min: '2s', max: '1s' } }).success);
  t.true(configSchema.safeParse({ wait: { min: '1s', max: '2s' } }).success);
  t.false(configSchema.safeParse({ retry: { max: '100ms' } }).success, 'default min 250ms above max');
  t.false(configSchema.safeParse({ retry: { min: '0s', max: '1s' } }).success);
  t.false(configSchema.safeParse({ vault: { clientCert: '/c.pem' } }).success);
  t.true(configSchema.safeParse({ vault: { clientCert: '/c.pem', clientKey: '/k.pem' } }).success);
});

test('kvVersion is auto, 1 or 2; durations longer than 24d are refused for timers', (t) => {
  t.is(configSchema.parse({ vault: { kvVersion: 1 } }).vault.kvVersion, 1);
  t.false(configSchema.safeParse({ vault: { kvVersion: 3 } }).success);
  t.false(configSchema.safeParse({ vault: { kvVersion: '2' } }).success);
  t.is(configSchema.parse({ splay: '24d' }).splay, 24 * 86_400_000);
  t.false(configSchema.safeParse({ splay: '25d' }).success);
});
