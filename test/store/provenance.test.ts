// The chain's provenance rules and backend start-up as part of a read (docs/design.md "The chain", "Provenance"):
// a backend that cannot start is unavailable for that read and is started again by the next; once a backend
// served a path, no lower backend serves it — after an outage, a reload (same memory) or a restart (memory
// loaded from the output directory), nor after the serving backend says "not found".
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, BackendName, Outcome, SecretRef } from '../../agent/backends/backend.js';
import { isAgentError } from '../../agent/errors.js';
import { StoreMemory } from '../../agent/store/memory.js';
import { Provenance } from '../../agent/store/provenance.js';
import { SecretStore } from '../../agent/store/store.js';

/** A backend answering from a mutable table, counting reads and start attempts. */
class TableBackend implements Backend {
  calls = 0;
  starts = 0;
  down = false;
  startFailure: string | undefined;
  constructor(readonly name: BackendName, public table: Record<string, Outcome>) {}
  async start(): Promise<void> {
    this.starts++;
    await Promise.resolve();
    if (this.startFailure !== undefined) throw new Error(this.startFailure);
  }
  async fetch(ref: SecretRef): Promise<Outcome> {
    this.calls++;
    await Promise.resolve();
    return this.down ? { status: 'unavailable', reason: 'connection refused' } : (this.table[ref.path] ?? { status: 'not_found' });
  }
  isAvailable(): Promise<boolean> {
    return Promise.resolve(!this.down);
  }
}

const value = (path: string): { ref: SecretRef } => ({ ref: { kind: 'value', path } });
const found = (data: string): Outcome => ({ status: 'found', data });

test('a backend that cannot start is unavailable for that read, the chain falls back, and the next read starts it again', async (t) => {
  const vault = new TableBackend('vault', { 'app/key': found('from-vault') });
  vault.startFailure = 'GET auth/token/lookup-self: connection refused';
  const env = new TableBackend('env', { 'app/key': found('from-env') });
  const unavailable: string[] = [];
  const store = new SecretStore({ chain: [vault, env], events: { onUnavailable: (event) => unavailable.push(`${event.backend}:${event.reason}`) } });
  t.like(await store.resolve(value('app/key')), { status: 'found', data: 'from-env', backend: 'env' });
  t.is(vault.calls, 0, 'no read is sent by a backend that did not start');
  t.deepEqual(unavailable, ['vault:vault backend could not start: GET auth/token/lookup-self: connection refused']);
  vault.startFailure = undefined;
  t.like(await store.resolve(value('app/key')), { status: 'found', data: 'from-vault', backend: 'vault' });
  t.like(await store.resolve(value('app/key')), { status: 'found', data: 'from-vault', backend: 'vault' });
  t.is(vault.starts, 2, 'started again after the failure, then never again once started');
});

test('concurrent reads share one start attempt', async (t) => {
  const vault = new TableBackend('vault', { 'a/1': found('1'), 'a/2': found('2') });
  const store = new SecretStore({ chain: [vault] });
  await Promise.all([store.resolve(value('a/1')), store.resolve(value('a/2')), store.start(vault)]);
  t.is(vault.starts, 1);
});

test('a "not found" from the backend that served a path fails it as a provenance conflict; no lower backend is asked', async (t) => {
  const vault = new TableBackend('vault', { 'app/db/password': found('from-vault') });
  const env = new TableBackend('env', { 'app/db/password': found('from-env') });
  const conflicts: string[] = [];
  const store = new SecretStore({ chain: [vault, env], events: { onProvenanceConflict: (event) => conflicts.push(`${event.backend}:${event.path}`) } });
  t.like(await store.resolve(value('app/db/password')), { status: 'found', backend: 'vault' });
  delete vault.table['app/db/password'];
  const after = await store.resolve(value('app/db/password'));
  t.is(after.status, 'failed');
  if (after.status !== 'failed') return;
  t.true(isAgentError(after.error, 'ERR_PROVENANCE_CONFLICT'));
  t.regex(after.error.message, /vault backend no longer has "app\/db\/password", which it served before/);
  t.deepEqual(after.error.details, { backend: 'vault', path: 'app/db/password' });
  t.is(env.calls, 0, 'the lower backend is never asked');
  t.deepEqual(conflicts, ['vault:app/db/password']);
});

test('a reload keeps the memory: the new store serves the old backend\'s value stale during an outage, not a lower one', async (t) => {
  const memory = new StoreMemory();
  const vault = new TableBackend('vault', { 'app/key': found('from-vault') });
  const env = new TableBackend('env', { 'app/key': found('from-env') });
  t.like(await new SecretStore({ chain: [vault, env], memory }).resolve(value('app/key')), { backend: 'vault' });
  const vault2 = new TableBackend('vault', {});
  vault2.down = true;
  const env2 = new TableBackend('env', { 'app/key': found('from-env') });
  const reloaded = new SecretStore({ chain: [vault2, env2], memory });
  t.like(await reloaded.resolve(value('app/key')), { status: 'found', data: 'from-vault', backend: 'vault', stale: { reason: 'connection refused' } });
  t.is(env2.calls, 0);
});

test('a restart during an outage (provenance without last good values) fails the path instead of serving a lower backend', async (t) => {
  const provenance = new Provenance();
  provenance.record('value:app/key', 'vault');
  const vault = new TableBackend('vault', {});
  vault.startFailure = 'Vault is sealed';
  const env = new TableBackend('env', { 'app/key': found('from-env') });
  const resolution = await new SecretStore({ chain: [vault, env], memory: new StoreMemory(provenance) }).resolve(value('app/key'));
  t.is(resolution.status, 'failed');
  if (resolution.status !== 'failed') return;
  t.true(isAgentError(resolution.error, 'ERR_BACKEND_UNAVAILABLE'));
  t.regex(resolution.error.message, /vault backend unavailable while reading "app\/key", which it served before; no lower backend serves it/);
  t.is(env.calls, 0);
});

test('a higher backend that comes back takes the path over, and then owns it', async (t) => {
  const memory = new StoreMemory();
  const vault = new TableBackend('vault', { 'app/key': found('from-vault') });
  vault.down = true;
  const aws = new TableBackend('aws', { 'app/key': found('from-aws') });
  const env = new TableBackend('env', { 'app/key': found('from-env') });
  const store = new SecretStore({ chain: [vault, aws, env], memory });
  t.like(await store.resolve(value('app/key')), { data: 'from-aws', backend: 'aws' });
  t.is(memory.provenance.owner('value:app/key'), 'aws');
  vault.down = false;
  t.like(await store.resolve(value('app/key')), { data: 'from-vault', backend: 'vault' });
  t.is(memory.provenance.owner('value:app/key'), 'vault');
  delete vault.table['app/key'];
  t.like(await store.resolve(value('app/key')), { status: 'failed' });
  t.is(env.calls, 0);
});

test('a higher backend that is down is skipped, and the backend that owns the path is read fresh (not its stale value)', async (t) => {
  const vault = new TableBackend('vault', {});
  vault.down = true;
  const aws = new TableBackend('aws', { 'app/key': found('v1') });
  const store = new SecretStore({ chain: [vault, aws] });
  t.like(await store.resolve(value('app/key')), { data: 'v1', backend: 'aws' });
  aws.table['app/key'] = found('v2');
  const second = await store.resolve(value('app/key'));
  t.like(second, { status: 'found', data: 'v2', backend: 'aws' });
  t.false(second.status === 'found' && second.stale !== undefined, 'vault\'s outage must not serve aws\'s last value as stale');
  t.is(aws.calls, 2);
});

test('a pinned read neither follows nor records provenance', async (t) => {
  const memory = new StoreMemory();
  const vault = new TableBackend('vault', {});
  const env = new TableBackend('env', { 'app/key': found('from-env') });
  const store = new SecretStore({ chain: [vault, env], memory });
  t.like(await store.resolve({ ...value('app/key'), backend: 'env' }), { data: 'from-env', backend: 'env' });
  t.is(memory.provenance.size, 0);
  memory.provenance.record('value:app/key', 'vault');
  t.like(await store.resolve({ ...value('app/key'), backend: 'env' }), { data: 'from-env', backend: 'env' });
});

test('provenance is kept in <output>/.secrets-agent/provenance.json: names only, 0600 in a 0700 directory, rewritten only on change', async (t) => {
  const output = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
  t.teardown(() => rm(output, { recursive: true, force: true }));
  const store = new SecretStore({ chain: [new TableBackend('vault', { 'app/db/password': found('hunter2-value') })], memory: new StoreMemory(await Provenance.load(output)) });
  await store.resolveAll([value('app/db/password'), { ref: { kind: 'map', path: 'exchange/binance' } }]);
  await store.memory.provenance.save(output);
  const path = join(output, '.secrets-agent', 'provenance.json');
  const text = await readFile(path, 'utf8');
  t.deepEqual(JSON.parse(text), { version: 1, owners: { 'value:app/db/password': 'vault' } });
  t.false(text.includes('hunter2'));
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.is((await stat(join(output, '.secrets-agent'))).mode & 0o777, 0o700);
  const before = (await stat(path)).ino;
  const loaded = await Provenance.load(output);
  t.is(loaded.owner('value:app/db/password'), 'vault');
  await loaded.save(output);
  t.is((await stat(path)).ino, before, 'an unchanged map is not written again (a write renames a new file in)');
  loaded.record('value:app/other', 'aws');
  await loaded.save(output);
  t.not((await stat(path)).ino, before, 'a changed map is');
});

test('a provenance file that does not parse is ERR_PROVENANCE_FILE naming it; a symlinked .secrets-agent is refused', async (t) => {
  const output = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
  t.teardown(() => rm(output, { recursive: true, force: true }));
  await mkdir(join(output, '.secrets-agent'));
  await writeFile(join(output, '.secrets-agent', 'provenance.json'), '{"version":1,"owners":{"value:a/b":"nowhere"}}');
  const error = await t.throwsAsync(Provenance.load(output));
  t.true(isAgentError(error, 'ERR_PROVENANCE_FILE'));
  t.regex(error.message, /provenance\.json: "value:a\/b" names an unknown backend/);
  const other = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
  t.teardown(() => rm(other, { recursive: true, force: true }));
  const target = await mkdtemp(join(tmpdir(), 'sa-provenance-target-'));
  t.teardown(() => rm(target, { recursive: true, force: true }));
  await symlink(target, join(other, '.secrets-agent'));
  const provenance = new Provenance();
  provenance.record('value:a/b', 'vault');
  const refused = await t.throwsAsync(provenance.save(other));
  t.true(isAgentError(refused, 'ERR_DESTINATION'));
});

test('a reload that drops the owner from the chain keeps its last value stale; a restart without it fails the path; no lower backend serves', async (t) => {
  const memory = new StoreMemory();
  const vault = new TableBackend('vault', { 'app/key': found('from-vault') });
  const env = new TableBackend('env', { 'app/key': found('from-env') });
  t.like(await new SecretStore({ chain: [vault, env], memory }).resolve(value('app/key')), { backend: 'vault' });
  // SIGHUP with `chain: [aws, env]`, or a restart where VAULT_ADDR is unset: Vault is no longer configured.
  const aws = new TableBackend('aws', { 'app/key': found('from-aws') });
  const reloaded = await new SecretStore({ chain: [aws, env], memory }).resolve(value('app/key'));
  t.like(reloaded, { status: 'found', data: 'from-vault', backend: 'vault', stale: { reason: 'vault backend is no longer in the chain' } });
  const restarted = await new SecretStore({ chain: [aws, env], memory: new StoreMemory(memory.provenance) }).resolve(value('app/key'));
  t.is(restarted.status, 'failed');
  if (restarted.status !== 'failed') return;
  t.true(isAgentError(restarted.error, 'ERR_BACKEND_UNAVAILABLE'));
  t.regex(restarted.error.message, /vault backend is no longer in the chain and served "app\/key" before/);
  t.is(aws.calls + env.calls, 0, 'no backend below the owner is asked');
  t.is(memory.provenance.owner('value:app/key'), 'vault');
});

test('a forced backend (--backend env beside a running agent) neither follows nor overwrites provenance', async (t) => {
  const provenance = new Provenance();
  provenance.record('value:app/key', 'vault');
  const before = provenance.serialize();
  const env = new TableBackend('env', { 'app/key': found('from-env'), 'app/new': found('new') });
  const store = new SecretStore({ chain: [env], pinned: true, memory: new StoreMemory(provenance) });
  t.like(await store.resolve(value('app/key')), { status: 'found', data: 'from-env', backend: 'env' });
  t.like(await store.resolve(value('app/new')), { status: 'found', backend: 'env' });
  t.is(provenance.owner('value:app/key'), 'vault', 'a later run with the chain still knows Vault served it');
  t.is(provenance.owner('value:app/new'), undefined);
  t.is(provenance.serialize(), before);
});

test('a hand-edited provenance whose keys the store would never look up is refused, not silently ignored', async (t) => {
  for (const owners of ['{"app/key":"vault"}', '{"value:app/key@previous":"vault"}', '["vault"]', '{"value:":"vault"}']) {
    const output = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
    t.teardown(() => rm(output, { recursive: true, force: true }));
    await mkdir(join(output, '.secrets-agent'));
    await writeFile(join(output, '.secrets-agent', 'provenance.json'), `{"version":1,"owners":${owners}}`);
    const error = await t.throwsAsync(Provenance.load(output), undefined, owners);
    t.true(isAgentError(error, 'ERR_PROVENANCE_FILE'), owners);
  }
  const output = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
  t.teardown(() => rm(output, { recursive: true, force: true }));
  await mkdir(join(output, '.secrets-agent'));
  await writeFile(join(output, '.secrets-agent', 'provenance.json'), '{"version":1,"owners":{"value:app/key":"vault","map:exchange/binance":"aws"}}');
  t.is((await Provenance.load(output)).owner('map:exchange/binance'), 'aws');
});

test('once saving beside run keeps the paths only the other process recorded, and each learns the other\'s', async (t) => {
  const output = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
  t.teardown(() => rm(output, { recursive: true, force: true }));
  const run = await Provenance.load(output);
  const once = await Provenance.load(output);
  once.record('value:other/key', 'vault');
  await once.save(output);
  run.record('value:app/key', 'aws');
  await run.save(output);
  const after = await Provenance.load(output);
  t.is(after.owner('value:other/key'), 'vault', 'the running agent\'s save must not drop what once recorded');
  t.is(after.owner('value:app/key'), 'aws');
  t.is(run.owner('value:other/key'), 'vault');
});

test('a template that changes form during an outage ({{secret "app/db/password"}} to (secrets "app/db"), or back) never gets the lower backend\'s value', async (t) => {
  const vault = new TableBackend('vault', { 'app/db/password': found('from-vault'), 'app/db': { status: 'found', data: { password: 'from-vault' } } });
  const env = new TableBackend('env', { 'app/db/password': found('from-env'), 'app/db': { status: 'found', data: { password: 'from-env' } } });
  for (const [served, asked] of [[value('app/db/password'), { ref: { kind: 'map', path: 'app/db' } }], [{ ref: { kind: 'map', path: 'app/db' } }, value('app/db/password')]] as const) {
    const memory = new StoreMemory();
    vault.down = false;
    t.like(await new SecretStore({ chain: [vault, env], memory }).resolve(served), { backend: 'vault' });
    vault.down = true;
    const after = await new SecretStore({ chain: [vault, env], memory }).resolve(asked);
    t.is(after.status, 'failed', `${served.ref.kind} served, then ${asked.ref.kind} asked`);
    if (after.status !== 'failed') return;
    t.true(isAgentError(after.error, 'ERR_BACKEND_UNAVAILABLE'));
    t.regex(after.error.message, /vault backend unavailable while reading "app\/db(\/password)?", whose secret it served before in another form/);
  }
  t.is(env.calls, 0);
});

test('a key the secret\'s backend does not have still falls through: only its outage holds the other form', async (t) => {
  const memory = new StoreMemory();
  const vault = new TableBackend('vault', { 'app/db': { status: 'found', data: { password: 'from-vault' } } });
  const env = new TableBackend('env', { 'app/db/port': found('5432') });
  const store = new SecretStore({ chain: [vault, env], memory });
  t.like(await store.resolve({ ref: { kind: 'map', path: 'app/db' } }), { backend: 'vault' });
  t.like(await store.resolve(value('app/db/port')), { status: 'found', data: '5432', backend: 'env' });
});

test('a provenance.json that is not a regular file (a FIFO) is ERR_PROVENANCE_FILE at once, not a start that hangs', async (t) => {
  const output = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
  t.teardown(() => rm(output, { recursive: true, force: true }));
  await mkdir(join(output, '.secrets-agent'));
  execFileSync('mkfifo', [join(output, '.secrets-agent', 'provenance.json')]);
  const error = await t.throwsAsync(Provenance.load(output));
  t.true(isAgentError(error, 'ERR_PROVENANCE_FILE'));
  t.regex(error.message, /provenance\.json: not a regular file/);
});

test('an owner once replaced beside run (AWS to Vault) is not put back by run\'s next save, and run follows it', async (t) => {
  const output = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
  t.teardown(() => rm(output, { recursive: true, force: true }));
  const run = await Provenance.load(output);
  run.record('value:app/key', 'aws');
  await run.save(output);
  const once = await Provenance.load(output);
  once.record('value:app/key', 'vault');
  await once.save(output);
  run.record('value:other/key', 'env');
  await run.save(output);
  t.is((await Provenance.load(output)).owner('value:app/key'), 'vault');
  t.is(run.owner('value:app/key'), 'vault', 'the running agent no longer lets AWS serve it while Vault is down');
  run.record('value:app/key', 'aws');
  await run.save(output);
  t.is((await Provenance.load(output)).owner('value:app/key'), 'aws', 'what run records itself since its last save wins');
});

test('refresh takes in what once saved beside run without a save of run\'s own', async (t) => {
  const output = await mkdtemp(join(tmpdir(), 'sa-provenance-'));
  t.teardown(() => rm(output, { recursive: true, force: true }));
  const run = await Provenance.load(output);
  run.record('value:app/key', 'aws');
  await run.save(output);
  const once = await Provenance.load(output);
  once.record('value:app/key', 'vault');
  once.record('value:new/key', 'vault');
  await once.save(output);
  await run.refresh(output);
  t.is(run.owner('value:app/key'), 'vault');
  t.is(run.owner('value:new/key'), 'vault');
});
