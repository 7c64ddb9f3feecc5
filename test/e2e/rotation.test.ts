// Automatic rotation by running agents (docs/operations.md "Rotation"), end to end: two built agents (`run`) on one
// generated secret with a 4 s period, both with `rotation.auto: true`, against the Vault emulator (cas_required on
// the secret) and the AWS emulator. Real time: each cycle every second. Checked: one new version per period however
// the two race (every version at least a period after the one before), every write under check-and-set (Vault cas
// = the version read; AWS VersionId = the token derived from the secret and the replaced VersionId), one `rotated`
// audit record per new version across both agents, both files end on the current value, notifiers ran, and no
// value in any log.
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import test from 'ava';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { logLines, scratch } from '../helpers/cli.js';
import { eventually, freePort, metricValue, startAgent } from '../helpers/agent-process.js';
import type { AgentProcess } from '../helpers/agent-process.js';
import { awsEnv, vaultEnv } from '../cli/ops-world.js';

const PERIOD_MS = 4000;
const TEMPLATE = '---\nnotify: [mark]\n---\nSECRET_KEY={{secret "app/secret_key"}}\nFALLBACK={{secret "app/secret_key" version="previous" default=""}}\n';

interface Replica {
  readonly agent: AgentProcess;
  readonly output: string;
  readonly mark: string;
  readonly base: string;
}

/** Two agents on the same secret, each with its own output, listener and touch notifier. */
async function replicas(t: import('ava').ExecutionContext, backend: 'vault' | 'aws', env: Record<string, string>): Promise<Replica[]> {
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': TEMPLATE });
  t.teardown(cleanup);
  const started: Replica[] = [];
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const mark = join(dir, `mark-${name}`);
    await writeFile(join(dir, `${name}.yaml`), [
      `templates: ${join(dir, 'templates')}`, `output: ${join(dir, `out-${name}`)}`, `backend: ${backend}`, `listen: "127.0.0.1:${port}"`,
      'schedule: "* * * * * *"', 'splay: 0s', 'rotation: { auto: true }', 'notifiers:', `  mark: { touch: ${mark} }`, '',
    ].join('\n'));
    const agent = startAgent(['--config', join(dir, `${name}.yaml`)], env);
    t.teardown(() => { agent.killGroup('SIGKILL'); });
    started.push({ agent, output: join(dir, `out-${name}`, 'app.env'), mark, base: `http://127.0.0.1:${port}` });
  }
  return started;
}

async function rendered(replica: Replica): Promise<Record<string, string | undefined>> {
  return parseEnv(await readFile(replica.output, 'utf8').catch(() => ''));
}

function rotatedRecords(replicas: readonly Replica[]): Record<string, unknown>[] {
  return replicas.flatMap((replica) => logLines(replica.agent.stderr()).filter((line) => line['event'] === 'rotated'));
}

/** SIGTERM both agents and wait for them: what they wrote and logged is final. */
async function stop(agents: readonly Replica[]): Promise<void> {
  for (const replica of agents) replica.agent.child.kill('SIGTERM');
  await Promise.all(agents.map((replica) => replica.agent.exited));
}

/** Consecutive creation times are at least one period apart: one version per period, whoever wrote it. */
function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((time, index) => time - (times[index] ?? 0));
}

test('vault: two agents write one version per period with cas, and both render it', async (t) => {
  const server = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => server.close());
  server.setSecret('app', { secret_key: 'INITIAL-django-key-00000000000000', user: 'kept-user' });
  const headers = { 'X-Vault-Token': server.token, 'X-Vault-Namespace': 'dsta', 'Content-Type': 'application/json' };
  await fetch(`${server.address}/v1/secret/metadata/app`, { method: 'POST', headers, body: JSON.stringify({ cas_required: true, custom_metadata: { owner: 'platform', 'rotation-period': '4s', 'rotation-generate': '32', 'rotation-auto': 'true', 'rotation-key': 'secret_key' } }) });
  const env = vaultEnv(server.address, server.token);
  const agents = await replicas(t, 'vault', env);
  const read = async (version?: number): Promise<{ data: Record<string, string>; metadata: { version: number; created_time: string } }> => {
    const response = await fetch(`${server.address}/v1/secret/data/app${version === undefined ? '' : `?version=${version}`}`, { headers });
    return ((await response.json()) as { data: { data: Record<string, string>; metadata: { version: number; created_time: string } } }).data;
  };
  // Three rotations, then both files on the value current at that moment (a window of most of a period).
  const settled = await eventually(async () => {
    const current = await read();
    if (current.metadata.version < 4) return false;
    const files = await Promise.all(agents.map(rendered));
    return files.every((file) => file['SECRET_KEY'] === current.data['secret_key']);
  }, 120_000);
  t.true(settled, agents.map((replica) => replica.agent.stderr().slice(-2000)).join('\n---\n'));
  const metrics = await Promise.all(agents.map(async (replica) => (await fetch(`${replica.base}/metrics`)).text()));
  t.true(metrics.reduce((sum, text) => sum + metricValue(text, 'secret_rotations_total', { result: 'rotated' }), 0) >= 1);
  // Whether the two agents raced this time (a conflict) depends on timing; logged, not asserted.
  t.log(`rotated ${metrics.map((text) => metricValue(text, 'secret_rotations_total', { result: 'rotated' })).join('+')}, conflicts ${metrics.map((text) => metricValue(text, 'secret_rotations_total', { result: 'conflict' })).join('+')}`);
  t.true(metrics.every((text) => metricValue(text, 'secret_rotation_due_timestamp_seconds', { path: 'app/secret_key' }) > Date.now() / 1000 - 60));
  await stop(agents);
  const last = (await read()).metadata.version;
  const versions = await Promise.all(Array.from({ length: last }, (_, index) => read(index + 1)));
  const created = versions.map((version) => Date.parse(version.metadata.created_time));
  for (const gap of gaps(created)) t.true(gap >= PERIOD_MS, `versions ${JSON.stringify(versions.map((version) => version.metadata.created_time))} are less than a period apart`);
  t.true(versions.slice(1).every((version) => /^[A-Za-z0-9]{32}$/.test(version.data['secret_key'] ?? '') && version.data['user'] === 'kept-user'), 'generated values; the other key kept');
  const writes = server.counters.requests.filter((request) => request.method === 'POST' && request.path === 'secret/data/app');
  t.true(writes.length >= last - 1);
  t.true(writes.every((request) => typeof (request.body?.['options'] as { cas?: unknown } | undefined)?.cas === 'number'), 'every write carries cas');
  // Exactly one record per new version across both agents (a lost race writes none); never a value.
  const records = rotatedRecords(agents);
  t.deepEqual(records.map((record) => Number(record['newVersion'])).sort((x, y) => x - y), Array.from({ length: last - 1 }, (_, index) => index + 2));
  t.like(records[0], { audit: true, event: 'rotated', path: 'app/secret_key', backend: 'vault' });
  const logs = agents.map((replica) => replica.agent.stderr()).join('\n');
  t.false(versions.some((version) => logs.includes(version.data['secret_key'] ?? '@@')), 'no value in any log');
  const file = await rendered(agents[0] as Replica);
  const shown = versions.findIndex((version) => version.data['secret_key'] === file['SECRET_KEY']);
  t.true(shown >= 1);
  t.is(file['FALLBACK'], versions[shown - 1]?.data['secret_key'], 'version="previous" follows the rotation');
  for (const replica of agents) t.true((await stat(replica.mark)).isFile(), 'the notifier ran');
  const meta = (await (await fetch(`${server.address}/v1/secret/metadata/app`, { headers })).json()) as { data: { custom_metadata: Record<string, string> } };
  t.is(meta.data.custom_metadata['owner'], 'platform', 'the other metadata is untouched');
});

test('aws: two agents put one version per period with the derived ClientRequestToken, and both render it', async (t) => {
  const server = await startAwsEmulator();
  t.teardown(() => server.close());
  const { arn } = server.putSecret('dsta/app', { secret_key: 'INITIAL-django-key-00000000000000', user: 'kept-user' });
  t.truthy(arn);
  const { ListSecretVersionIdsCommand, SecretsManagerClient, TagResourceCommand } = await import('@aws-sdk/client-secrets-manager');
  const { EMULATOR_CREDENTIALS } = await import('../fakes/aws/emulator.js');
  const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: EMULATOR_CREDENTIALS });
  t.teardown(() => { client.destroy(); });
  await client.send(new TagResourceCommand({ SecretId: 'dsta/app', Tags: [{ Key: 'rotation-period', Value: '4s' }, { Key: 'rotation-generate', Value: '40' }, { Key: 'rotation-auto', Value: 'true' }, { Key: 'rotation-key', Value: 'secret_key' }] }));
  const agents = await replicas(t, 'aws', awsEnv(server.endpoint));
  const current = () => server.versions('dsta/app').find((version) => version.stages.includes('AWSCURRENT'));
  const settled = await eventually(async () => {
    const now = current();
    if (server.versions('dsta/app').length < 4 || now === undefined) return false;
    const value = (JSON.parse(String(now.value)) as Record<string, string>)['secret_key'];
    const files = await Promise.all(agents.map(rendered));
    return files.every((file) => file['SECRET_KEY'] === value);
  }, 120_000);
  t.true(settled, agents.map((replica) => replica.agent.stderr().slice(-2000)).join('\n---\n'));
  await stop(agents);
  const versions = server.versions('dsta/app');
  // Each new VersionId is the token both replicas derive from the secret and the version it replaces.
  for (const [index, version] of versions.slice(1).entries()) {
    const replaced = versions[index]?.id ?? '';
    const hex = createHash('sha256').update(`secrets-agent rotation\0dsta/app\0${replaced}`).digest('hex');
    t.is(version.id, `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`);
    const data = JSON.parse(String(version.value)) as Record<string, string>;
    t.regex(data['secret_key'] ?? '', /^[A-Za-z0-9]{40}$/);
    t.is(data['user'], 'kept-user');
  }
  const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'dsta/app', IncludeDeprecated: true }));
  const created = (listed.Versions ?? []).map((version) => version.CreatedDate?.getTime() ?? 0).sort((x, y) => x - y);
  for (const gap of gaps(created)) t.true(gap >= PERIOD_MS, `versions created ${JSON.stringify(created)} are less than a period apart`);
  const records = rotatedRecords(agents);
  t.is(records.length, versions.length - 1, 'one rotated record per new version across both agents');
  t.is(new Set(records.map((record) => record['newVersion'])).size, records.length, 'no version rotated twice');
  // A put that lost the race to the other replica (ResourceExistsException) asks once which version is AWSCURRENT
  // (DescribeSecret, agent/backends/aws/rotation.ts); every other DescribeSecret is a tag read.
  const lostPuts = (server.counters['PutSecretValue'] ?? 0) - (versions.length - 1);
  t.true(lostPuts >= 0, JSON.stringify(server.counters));
  t.true((server.counters['DescribeSecret'] ?? 0) - lostPuts <= 2, `tags read at most once an hour per agent: ${JSON.stringify(server.counters)}`);
  const logs = agents.map((replica) => replica.agent.stderr()).join('\n');
  t.false(versions.some((version) => logs.includes((JSON.parse(String(version.value)) as Record<string, string>)['secret_key'] ?? '@@')), 'no value in any log');
});
