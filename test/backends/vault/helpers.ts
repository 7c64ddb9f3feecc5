// Shared pieces of the Vault tests: a config parsed by the real schema, a logger captured in memory, and a
// backend wired to a target with a clock, randomness and node-vault factory the test controls.
import { readFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { Writable } from 'node:stream';
import type { VaultBackendOptions } from '../../../agent/backends/vault.js';
import { VaultBackend } from '../../../agent/backends/vault.js';
import { configSchema } from '../../../agent/config/schema.js';
import type { Config, ConfigInput } from '../../../agent/config/schema.js';
import { createLogger } from '../../../agent/log/logger.js';
import type { Logger } from '../../../agent/log/logger.js';
import { startVaultEmulator } from '../../fakes/vault/index.js';
import type { VaultEmulator, VaultEmulatorOptions } from '../../fakes/vault/index.js';
import type { Target } from './target.js';

type VaultInput = NonNullable<ConfigInput['vault']>;

/** A `vault` section through the real schema (defaults filled, durations in ms). */
export function vaultConfig(input: VaultInput): Config['vault'] {
  return configSchema.parse({ vault: input }).vault;
}

/** A logger whose JSON lines land in `lines`, at trace level so every line is seen. */
export function captureLog(): { log: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return { log: createLogger({ level: 'trace', format: 'json', stream }), lines, text: () => lines.join('\n') };
}

export interface BackendSetup {
  backend: VaultBackend;
  lines: string[];
  logText: () => string;
}

/** A backend for a target: token auth with the root token unless `vault.auth` says otherwise. */
export function backendFor(target: Target, input: Partial<VaultInput> = {}, extra: Partial<VaultBackendOptions> = {}): BackendSetup {
  const { log, lines, text } = captureLog();
  const config = vaultConfig({ address: target.address, namespace: target.namespace, timeout: '5s', ...input, auth: input.auth ?? { method: 'token', token: target.rootToken } });
  const backend = new VaultBackend({ config, log, watchTokenFile: false, ...extra });
  return { backend, lines, logText: text };
}

/** Test titles for emulator-only tests say so; against a real Vault they are skipped. */
export const emulatorOnly = ' (emulator)';

/** The HCL of a policy documented in docs/vault.md under `<!-- policy: NAME -->`, so tests apply what the docs say. */
export function documentedPolicy(name: string): string {
  const text = readFileSync(new URL('../../../docs/vault.md', import.meta.url), 'utf8');
  const block = new RegExp(`<!-- policy: ${name} -->\\n\`\`\`hcl\\n([\\s\\S]*?)\`\`\``).exec(text);
  if (!block?.[1]) throw new Error(`docs/vault.md documents no policy "${name}"`);
  return block[1];
}

/** An emulator closed when the test ends, pass or fail (AVA stops a test at its first failed assertion). */
export async function emulatorFor(t: ExecutionContext, options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const server = await startVaultEmulator(options);
  t.teardown(() => server.close());
  return server;
}

/** The target view of an emulator, for backendFor. */
export function targetOf(server: VaultEmulator, namespace = 'dsta'): Target {
  return { address: server.address, rootToken: server.token, namespace } as Target;
}
