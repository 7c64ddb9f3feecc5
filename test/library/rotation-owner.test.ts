// A rotation writes to the backend that serves the path, never to a lower one the chain fell to because a higher
// backend could not answer (Vault sealed): once Vault is back it serves the old value, and the operator, told the
// secret was rotated, revokes the credential the applications still use. `rotate` in-process and the running
// agent's auto-rotation, against both emulators.
import { Readable, Writable } from 'node:stream';
import test from 'ava';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createChain } from '../../agent/backends/create.js';
import { isWritable } from '../../agent/backends/writable.js';
import { runCli } from '../../agent/cli/program.js';
import { loadConfig } from '../../agent/config/load.js';
import { isAgentError } from '../../agent/errors.js';
import { SecretManager } from '../../agent/library/manager.js';
import { SecretRotationManager } from '../../agent/library/rotation.js';
import { Scrubber } from '../../agent/log/scrub.js';
import { AutoRotator } from '../../agent/rotation/auto.js';
import { SecretStore } from '../../agent/store/store.js';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { awsEnv, memoryIo, vaultEnv } from '../cli/ops-world.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);

async function world(t: import('ava').ExecutionContext, sealed = true) {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  const aws = await startAwsEmulator({ now: () => new Date(START) });
  t.teardown(async () => { await vault.close(); await aws.close(); });
  if (sealed) vault.setSecret('app', { secret_key: 'VAULT-served-value-00000000000000000' });
  aws.putSecret('dsta/app', { secret_key: 'AWS-leftover-value-00000000000000000' });
  vault.setSealed(sealed);
  const env = { ...vaultEnv(vault.address, vault.token), ...awsEnv(aws.endpoint) };
  // The SDK takes its endpoint and credentials from the process's environment (hence test.serial).
  Object.assign(process.env, awsEnv(aws.endpoint));
  return { vault, aws, env };
}

test.serial('rotate: Vault unavailable, AWS holds an old copy: nothing is written to AWS, and the exit says why', async (t) => {
  const { aws, env } = await world(t);
  const { io, stdout, logs } = memoryIo(env);
  const code = await runCli({ ...io, argv: ['rotate', 'app/secret_key', '--value-stdin'], stdin: Readable.from([Buffer.from('NEW-operator-value-0000000000000000')]) });
  t.is(aws.versions('dsta/app').length, 1, 'no version was put in AWS');
  t.is(code, 1);
  t.is(stdout(), '');
  t.regex(logs(), /vault, above aws in the chain, could not answer/);
  t.false(logs().includes('NEW-operator-value-0000000000000000'));
});

test.serial('auto-rotation: Vault unavailable, AWS holds a due copy with a policy: the agent does not rotate it in AWS', async (t) => {
  const { aws, env } = await world(t);
  const config = await loadConfig({ file: undefined, env, flags: {}, cwd: process.cwd() });
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString('utf8')); done(); } }));
  const store = new SecretStore({ chain: await createChain(config, env, log) });
  t.teardown(() => store.close());
  t.deepEqual(store.backends.map((backend) => backend.name).slice(0, 2), ['vault', 'aws']);
  const awsBackend = store.backends[1];
  if (!isWritable(awsBackend)) throw new Error('the aws backend is writable');
  await awsBackend.setLabels({ kind: 'value', path: 'app/secret_key' }, { 'rotation-period': '30d', 'rotation-generate': '40', 'rotation-auto': 'true', 'rotation-key': 'secret_key' });
  const clock = new FakeClock(START + 31 * DAY);
  const rotator = new AutoRotator({ registry: new Registry(), clock });
  const resolutions = await store.resolveAll([{ ref: { kind: 'value', path: 'app/secret_key' } }]);
  t.like(resolutions.get('*|value:app/secret_key'), { status: 'found', backend: 'aws' });
  t.false(await rotator.check({ store, resolutions, auto: true, log, audit: true, scrubber: new Scrubber() }));
  t.is(aws.versions('dsta/app').length, 1, 'no version was put in AWS');
  t.regex(lines.join(''), /vault, above aws in the chain, could not answer/);
});

test.serial('rotate: Vault answers that it does not hold the path: the copy in AWS is the owner and is rotated', async (t) => {
  const { aws, env } = await world(t, false);
  const { io, stdout, logs } = memoryIo(env);
  const code = await runCli({ ...io, argv: ['rotate', 'app/secret_key', '--value-stdin'], stdin: Readable.from([Buffer.from('NEW-operator-value-0000000000000000')]) });
  t.is(code, 0, logs());
  t.is(aws.versions('dsta/app').length, 2);
  t.is(stdout().trim(), aws.versions('dsta/app').find((version) => version.stages.includes('AWSCURRENT'))?.id ?? 'no AWSCURRENT');
});

test.serial('auto-rotation: an AWS plain secret needs no rotation-key (it holds the one value); Vault answered, so AWS owns it', async (t) => {
  const { aws, env } = await world(t, false);
  aws.putSecret('dsta/tok/value', 'PLAIN-token-value-000000000000000000');
  const config = await loadConfig({ file: undefined, env, flags: {}, cwd: process.cwd() });
  const log = pino({ level: 'silent' });
  const store = new SecretStore({ chain: await createChain(config, env, log) });
  t.teardown(() => store.close());
  const awsBackend = store.backends[1];
  if (!isWritable(awsBackend)) throw new Error('the aws backend is writable');
  await awsBackend.setLabels({ kind: 'value', path: 'tok/value' }, { 'rotation-period': '30d', 'rotation-generate': '40', 'rotation-auto': 'true' });
  const rotator = new AutoRotator({ registry: new Registry(), clock: new FakeClock(START + 31 * DAY) });
  const resolutions = await store.resolveAll([{ ref: { kind: 'value', path: 'tok/value' } }]);
  t.like(resolutions.get('*|value:tok/value'), { status: 'found', backend: 'aws' });
  t.true(await rotator.check({ store, resolutions, auto: true, log, audit: true, scrubber: new Scrubber() }));
  const versions = aws.versions('dsta/tok/value');
  t.is(versions.length, 2);
  t.regex(String(versions.find((version) => version.stages.includes('AWSCURRENT'))?.value), /^[A-Za-z0-9]{40}$/);
});

test.serial('library: SecretRotationManager.rotateSecret with Vault unavailable and an old copy in AWS writes nothing to AWS', async (t) => {
  const { aws, env } = await world(t);
  const manager = new SecretManager({ env, log: pino({ level: 'silent' }) });
  t.teardown(() => manager.close());
  const error = await t.throwsAsync(new SecretRotationManager(manager).rotateSecret('app/secret_key', 'NEW-library-value-00000000000000000'));
  t.true(isAgentError(error, 'ERR_BACKEND_UNAVAILABLE'), String(error));
  t.regex(error.message, /vault, above aws in the chain, could not answer/);
  t.false(error.message.includes('NEW-library-value'));
  t.is(aws.versions('dsta/app').length, 1, 'no version was put in AWS');
});
