// `rotate` through the command table in-process: stdin comes from the CLI's io, and every operator command has
// --help and the common flags.
import { Readable } from 'node:stream';
import test from 'ava';
import { runCli } from '../../agent/cli/program.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { memoryIo, vaultEnv } from './ops-world.js';

test('rotate --value-stdin reads the value from the CLI io\'s stdin and prints only the version', async (t) => {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  vault.setSecret('database/redis', { password: 'OLD-redis-password-0000' });
  const { io, stdout, logs } = memoryIo(vaultEnv(vault.address, vault.token));
  const code = await runCli({ ...io, argv: ['rotate', 'database/redis/password', '--value-stdin'], stdin: Readable.from([Buffer.from('NEW-redis-'), Buffer.from('password-1111\r\n')]) });
  t.is(code, 0, logs());
  t.is(stdout(), '2\n');
  const post = vault.counters.requests.find((request) => request.method === 'POST');
  t.deepEqual(post?.body, { options: { cas: 1 }, data: { password: 'NEW-redis-password-1111' } });
  t.false(logs().includes('NEW-redis-password-1111'));
  t.false(logs().includes('OLD-redis-password-0000'));
});

test('every operator command answers --help with its flags and the global ones it uses', async (t) => {
  const cases = [
    ['migrate', ['--from-env', '--to', '--dry-run', '--map', '--overwrite', '--config', '--log-level'], ['--backend', '--templates', '--output']],
    ['rotate', ['--value-stdin', '--generate', '--charset', '--config', '--backend'], ['--templates', '--output']],
    ['audit', ['--max-age', '--json', '--all', '--config', '--backend', '--templates'], ['--output']],
    ['check', ['--diff', '--config', '--backend', '--templates', '--output'], []],
  ] as const;
  for (const [command, listed, absent] of cases) {
    const { io, stdout } = memoryIo({});
    t.is(await runCli({ ...io, argv: [command, '--help'] }), 0, command);
    for (const flag of listed) t.true(stdout().includes(flag), `${command} ${flag}`);
    for (const flag of absent) t.false(stdout().includes(`${flag} <`), `${command} lists ${flag}, which it does not use`);
  }
});
