// The auto-rotation check of `run` (agent/rotation/auto.ts) on a fake clock against the Vault emulator, through the
// real backend and store: opt-in twice (rotation.auto and rotation-auto), due = creation + period, one write with
// cas on the version read, a stale read loses as a conflict and writes nothing, and the due gauge.
import { Writable } from 'node:stream';
import test from 'ava';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createVaultBackend } from '../../agent/backends/vault.js';
import { loadConfig } from '../../agent/config/load.js';
import { Scrubber } from '../../agent/log/scrub.js';
import { AutoRotator } from '../../agent/rotation/auto.js';
import { SecretStore } from '../../agent/store/store.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

const DAY = 86_400_000;

async function world(t: import('ava').ExecutionContext, custom: Record<string, string>) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const server = await startVaultEmulator({ namespace: 'dsta', clock });
  server.setSecret('app', { secret_key: 'FIRST-generated-value-000000000000', user: 'u' });
  await fetch(`${server.address}/v1/secret/metadata/app`, { method: 'POST', headers: { 'X-Vault-Token': server.token, 'X-Vault-Namespace': 'dsta' }, body: JSON.stringify({ cas_required: true, custom_metadata: custom }) });
  const config = await loadConfig({ file: undefined, env: { VAULT_ADDR: server.address, VAULT_TOKEN: server.token }, flags: {}, cwd: process.cwd() });
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString('utf8')); done(); } }));
  const vault = createVaultBackend({ config: config.vault, log });
  const store = new SecretStore({ chain: [vault] });
  const registry = new Registry();
  const rotator = new AutoRotator({ registry, clock });
  t.teardown(async () => { await store.close(); await server.close(); });
  // A replica is another agent: a rotator of its own (what it wrote and lost is its own), on its own registry.
  const replica = () => { const own = new Registry(); return { registry: own, rotator: new AutoRotator({ registry: own, clock }) }; };
  const pass = async (auto: boolean, by: AutoRotator = rotator, paths: readonly string[] = ['app/secret_key']) => {
    const resolutions = await store.resolveAll(paths.map((path) => ({ ref: { kind: 'value' as const, path } })));
    return { resolutions, run: () => by.check({ store, resolutions, auto, log, audit: true, scrubber: new Scrubber() }) };
  };
  const writes = () => server.counters.requests.filter((request) => request.method === 'POST' && request.path === 'secret/data/app');
  return { clock, server, registry, pass, writes, lines, replica };
}

const POLICY = { 'rotation-period': '30d', 'rotation-generate': '40', 'rotation-auto': 'true', 'rotation-key': 'secret_key' };

test('nothing is written before the due time, nor without rotation.auto; the due gauge is set either way', async (t) => {
  const { clock, registry, pass, writes } = await world(t, POLICY);
  t.false(await (await pass(true)).run());
  t.regex(await registry.metrics(), new RegExp(`secret_rotation_due_timestamp_seconds\\{path="app/secret_key"\\} ${(Date.UTC(2026, 0, 1) + 30 * DAY) / 1000}`));
  await clock.advance(31 * DAY);
  t.false(await (await pass(false)).run(), 'rotation.auto: false writes nothing');
  t.is(writes().length, 0);
});

test('a secret without rotation-auto, or without rotation-generate, is never written', async (t) => {
  const { clock, pass, writes } = await world(t, { 'rotation-period': '30d', 'rotation-generate': '40', 'rotation-key': 'secret_key' });
  await clock.advance(31 * DAY);
  t.false(await (await pass(true)).run());
  t.is(writes().length, 0);
});

test('due and opted in twice: one write with cas on the version read; a replica that read the old version loses and writes nothing', async (t) => {
  const { clock, server, registry, pass, writes, lines, replica } = await world(t, POLICY);
  await clock.advance(31 * DAY);
  const other = replica();
  const winner = await pass(true);
  const loser = await pass(true, other.rotator);
  t.true(await winner.run());
  t.true(await loser.run(), 'the loser asks for a render of the winner\'s version');
  t.is(writes().length, 1);
  t.deepEqual(writes()[0]?.body?.['options'], { cas: 1 });
  const read = (await (await fetch(`${server.address}/v1/secret/data/app`, { headers: { 'X-Vault-Token': server.token, 'X-Vault-Namespace': 'dsta' } })).json()) as { data: { data: Record<string, string>; metadata: { version: number } } };
  t.is(read.data.metadata.version, 2);
  t.regex(read.data.data['secret_key'] ?? '', /^[A-Za-z0-9]{40}$/);
  t.is(read.data.data['user'], 'u');
  const text = await registry.metrics();
  t.regex(text, /secret_rotations_total\{result="rotated"\} 1/);
  t.regex(await other.registry.metrics(), /secret_rotations_total\{result="conflict"\} 1/);
  const audit = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['event'] === 'rotated');
  t.is(audit.length, 1);
  t.like(audit[0], { audit: true, component: 'audit', path: 'app/secret_key', backend: 'vault', oldVersion: '1', newVersion: '2' });
  t.false(lines.join('').includes(read.data.data['secret_key'] ?? '@@'), 'the new value is never logged');
  t.false(await (await pass(true)).run(), 'the winner\'s render cycle writes nothing');
  t.false(await (await pass(true, other.rotator)).run(), 'the loser\'s render cycle writes nothing');
  t.false(await (await pass(true)).run(), 'the new version is not due');
});

test('a conflict that persists (the same version read again) is not tried at every cycle: no loop of cycles', async (t) => {
  const { clock, server, pass, lines } = await world(t, POLICY);
  await clock.advance(31 * DAY);
  const stale = await pass(true);
  // Another writer moves the secret; this agent still holds a pass that read version 1 (as a stuck read would).
  const other = await fetch(`${server.address}/v1/secret/data/app`, { method: 'POST', headers: { 'X-Vault-Token': server.token, 'X-Vault-Namespace': 'dsta' }, body: JSON.stringify({ options: { cas: 1 }, data: { secret_key: 'OTHER-writer-value-0000000000000000', user: 'u' } }) });
  t.is(other.status, 200);
  t.true(await stale.run(), 'the first conflict asks for a render of the winner\'s version');
  t.false(await (await pass(true)).run(), 'the render cycle reads version 2, not due');
  const tries = () => lines.filter((line) => line.includes('first; reading its version')).length;
  const before = tries();
  t.false(await stale.run(), 'the same version losing again does not ask for yet another cycle');
  t.is(tries(), before, 'nor is the write tried again');
  await clock.advance(10 * 60_000);
  t.true(await stale.run(), 'tried again after the retry delay');
});

test('a period shorter than a cycle does not make a loop: the cycle a rotation asked for renders and writes nothing', async (t) => {
  const { clock, pass, writes } = await world(t, { ...POLICY, 'rotation-period': '1s' });
  await clock.advance(2000);
  t.true(await (await pass(true)).run());
  t.is(writes().length, 1);
  await clock.advance(2000);
  t.false(await (await pass(true)).run(), 'the render cycle of the rotation does not rotate again');
  t.is(writes().length, 1);
  await clock.advance(2000);
  t.true(await (await pass(true)).run(), 'the next cycle of the schedule may');
  t.is(writes().length, 2);
});

test('rotation-key naming a key of another secret (a "/" in it) is refused: nothing is written there', async (t) => {
  const { clock, server, pass, writes } = await world(t, { ...POLICY, 'rotation-key': 'other/password' });
  server.setSecret('app/other', { password: 'victim-password-000000000000000000' });
  await clock.advance(31 * DAY);
  const asked = await (await pass(true)).run();
  t.false(server.counters.requests.some((request) => request.method === 'POST' && request.path === 'secret/data/app/other'), 'the other secret is not written');
  t.false(asked);
  t.is(writes().length, 0);
});

test('a policy without rotation-key (the contract\'s four keys, by hand) rotates no key of a secret of several: it cannot tell which one is generated', async (t) => {
  const { clock, pass, writes } = await world(t, { 'rotation-period': '30d', 'rotation-generate': '40', 'rotation-auto': 'true' });
  await clock.advance(31 * DAY);
  const both = await pass(true, undefined, ['app/user', 'app/secret_key']);
  const asked = await both.run();
  t.is(writes().length, 0, 'neither the user name nor the password was replaced by a random value');
  t.false(asked);
});
