// A command notifier's environment holds none of the agent's own credentials (issue 19): a real command dumps
// the environment it was given into a file, and the file is read back.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../agent/notify/command.js';
import { SECRET_ENV_NAMES } from '../../agent/notify/env.js';
import { systemClock } from '../../agent/util/clock.js';
import { fixtures, tempDir } from './helpers.js';

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';

/** Every variable the agent may take an identity from (docs/configuration.md, docs/vault.md, docs/aws.md). */
const CREDENTIALS: Record<string, string> = {
  VAULT_TOKEN: 'hvs.agent-token', VAULT_TOKEN_FILE: '/var/run/secrets/vault/token',
  VAULT_CLIENT_CERT: '/etc/vault-tls/client.crt', VAULT_CLIENT_KEY: '/etc/vault-tls/client.key',
  AWS_ACCESS_KEY_ID: 'AKIAAGENTEXAMPLE', AWS_SECRET_ACCESS_KEY: 'agent-secret-key', AWS_SESSION_TOKEN: 'agent-session',
  AWS_SECURITY_TOKEN: 'agent-session-old-name', AWS_CREDENTIAL_EXPIRATION: '2030-01-01T00:00:00Z', AWS_PROFILE: 'agent',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/agent', AWS_ROLE_SESSION_NAME: 'agent',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/0f1e2d3c', AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'agent-container-token', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
};

/** Where and how, not who: the child keeps them. */
const KEPT = { PATH, HOME: '/home/app', VAULT_ADDR: 'https://vault.internal:8200', VAULT_NAMESPACE: 'dsta', AWS_REGION: 'eu-west-1', AWS_CONFIG_FILE: '/etc/aws/config', SECRETS_AGENT_VAULT_ROLE: 'api-server' };

async function childEnv(t: ExecutionContext, env: Record<string, string>): Promise<{ seen: Map<string, string>; dropped: string[] }> {
  const out = join(await tempDir(t), 'out');
  const outcome = await runCommand({ command: ['/bin/sh', join(fixtures, 'record.sh'), out], timeout: 30_000 }, { clock: systemClock, secretValues: () => [], env });
  const seen = new Map((await readFile(`${out}.env`, 'utf8')).trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]));
  return { seen, dropped: outcome.envDropped };
}

test('the list of dropped names is exactly the credential variables this test gives the agent', (t) => {
  t.deepEqual([...SECRET_ENV_NAMES].sort(), Object.keys(CREDENTIALS).sort());
});

test('a command notifier started by an agent holding every credential variable sees none of them, and keeps the rest', async (t) => {
  const { seen, dropped } = await childEnv(t, { ...KEPT, ...CREDENTIALS });
  for (const name of Object.keys(CREDENTIALS)) t.false(seen.has(name), `${name} reached the command`);
  const values = [...seen.values()].join('\n');
  for (const [name, value] of Object.entries(CREDENTIALS)) t.false(values.includes(value), `the value of ${name} reached the command`);
  t.like(Object.fromEntries(seen), KEPT);
  t.deepEqual(dropped, Object.keys(CREDENTIALS).sort());
});
