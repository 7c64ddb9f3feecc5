// Shared fixtures of the operator-command tests: the seed .env, the CLI environment for the Vault and AWS
// emulators, and the check that no command output carries a secret value.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { parseEnv } from 'node:util';
import type { ExecutionContext } from 'ava';
import type { CommandIo } from '../../agent/runtime/context.js';
import { EMULATOR_CREDENTIALS } from '../fakes/aws/emulator.js';
import type { CliResult } from '../helpers/cli.js';
import { cli, root } from '../helpers/cli.js';

export const seedFile = `${root}test/fixtures/seed.env`;
/** The seed's variables as Node's own dotenv parser reads them. */
export const seed: Readonly<Record<string, string | undefined>> = parseEnv(readFileSync(seedFile, 'utf8'));
/** Every seed value that is plainly a secret (the FAKE ones); none may appear in any command's output. */
export const seedSecrets: readonly string[] = Object.values(seed).filter((value): value is string => value?.includes('FAKE') === true);

/** One seed variable, which must exist. */
export function seedValue(name: string): string {
  const value = seed[name];
  if (value === undefined) throw new Error(`test/fixtures/seed.env has no ${name}`);
  return value;
}

/** CLI environment for a Vault emulator (the agent's default namespace "dsta"). */
export function vaultEnv(address: string, token: string): Record<string, string> {
  return { VAULT_ADDR: address, VAULT_TOKEN: token };
}

/** CLI environment for an AWS emulator: endpoint, static keys, offline, prefix dsta/. */
export function awsEnv(endpoint: string, prefix = 'dsta/'): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint, SECRETS_AGENT_AWS_PREFIX: prefix,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent/aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  };
}

/** Fail when stdout or stderr of `result` contains any of `values`. */
export function assertNoValues(t: ExecutionContext, result: CliResult, values: readonly string[], what: string): void {
  const output = `${result.stdout}\n${result.stderr}`;
  const leaked = values.filter((value) => output.includes(value));
  t.deepEqual(leaked, [], `${what} printed a secret value`);
}

/** Run the built CLI with `input` on its stdin (for `rotate --value-stdin`). */
export function runCliWithInput(args: readonly string[], options: { env: Record<string, string>; input: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.once('error', reject);
    child.once('close', (code) => { resolve({ code: code ?? 1, stdout, stderr }); });
    child.stdin.end(options.input);
  });
}

/** An in-process CommandIo whose stdout and log lines are collected, for calling a command function directly. */
export function memoryIo(env: Record<string, string>): { io: CommandIo; stdout: () => string; logs: () => string } {
  const out: string[] = [];
  const logs: string[] = [];
  const sink = (into: string[]): Writable => new Writable({ write(chunk: Buffer, _encoding, done) { into.push(chunk.toString('utf8')); done(); } });
  const io: CommandIo = { argv: [], env, cwd: root, stdout: sink(out), stderr: sink(logs), logStream: sink(logs) };
  return { io, stdout: () => out.join(''), logs: () => logs.join('') };
}
