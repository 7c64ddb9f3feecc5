// Where the Vault integration tests run: the emulator by default, or a real Vault when VAULT_TEST_ADDR and
// VAULT_TEST_TOKEN are set (docs/vault.md). Setup goes over HTTP in both cases, with a plain admin
// node-vault client holding the root token, so the tests see the same server behaviour either way.
import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import type { NodeVaultClient } from '../../../agent/backends/vault/client.js';
import { defaultNodeVault } from '../../../agent/backends/vault/client.js';
import { startVaultEmulator } from '../../fakes/vault/index.js';
import type { VaultEmulator, VaultEmulatorOptions } from '../../fakes/vault/index.js';

export const realVault = process.env['VAULT_TEST_ADDR'] !== undefined && process.env['VAULT_TEST_TOKEN'] !== undefined;

export interface Target {
  readonly real: boolean;
  readonly address: string;
  readonly rootToken: string;
  /** The namespace the agent is configured with ("dsta" on the emulator, VAULT_TEST_NAMESPACE or "" on a real Vault). */
  readonly namespace: string;
  /** The emulator, or undefined against a real Vault (tests needing it are skipped there). */
  readonly emulator: VaultEmulator | undefined;
  /** A unique first segment for this test's secrets, so runs against one real Vault never collide. */
  readonly prefix: string;
  /** Write a KV v2 secret at mount `secret` (or a KV v1 one at `mount`); the new v2 version. */
  put(path: string, data: Record<string, unknown>, mount?: string): Promise<number | undefined>;
  softDelete(path: string): Promise<void>;
  destroy(path: string, versions: number[]): Promise<void>;
  /** A token with these policies (and the default policy). */
  createToken(policies: string[], ttl?: string): Promise<string>;
  writePolicy(name: string, hcl: string): Promise<void>;
  /** Make sure a KV v1 mount exists at `name`. */
  ensureKv1(name: string): Promise<void>;
  close(): Promise<void>;
}

/** A bare node-vault client for setup; never used by the code under test. */
function adminClient(address: string, token: string, namespace: string): NodeVaultClient {
  const client = defaultNodeVault({ endpoint: address, token, noCustomHTTPVerbs: true, debug: () => undefined, requestOptions: { timeout: 5000 } }) as NodeVaultClient;
  client.namespace = namespace === '' ? undefined : namespace;
  client.pathPrefix = '';
  return client;
}

/** Open the emulator (or the real Vault) for one test; closed when the test ends. */
export async function openTarget(t: ExecutionContext, options: VaultEmulatorOptions = {}): Promise<Target> {
  const emulator = realVault ? undefined : await startVaultEmulator({ mounts: { secret: 2, kv1: 1 }, ...options });
  if (emulator) t.teardown(() => emulator.close());
  const address = emulator?.address ?? process.env['VAULT_TEST_ADDR'] ?? '';
  const rootToken = emulator?.token ?? process.env['VAULT_TEST_TOKEN'] ?? '';
  const namespace = emulator ? options.namespace ?? 'dsta' : process.env['VAULT_TEST_NAMESPACE'] ?? '';
  const admin = adminClient(address, rootToken, namespace);
  const prefix = `t${randomBytes(4).toString('hex')}`;
  return {
    real: emulator === undefined,
    address,
    rootToken,
    namespace,
    emulator,
    prefix,
    async put(path, data, mount) {
      if (mount !== undefined) {
        await admin.write(`${mount}/${path}`, data);
        return undefined;
      }
      const reply = (await admin.write(`secret/data/${path}`, { data })) as { data: { version: number } };
      return reply.data.version;
    },
    async softDelete(path) {
      await admin.write(`secret/delete/${path}`, { versions: [await currentVersion(admin, path)] });
    },
    async destroy(path, versions) {
      await admin.write(`secret/destroy/${path}`, { versions });
    },
    async createToken(policies, ttl = '1h') {
      const reply = (await admin.write('auth/token/create', { policies, ttl })) as { auth: { client_token: string } };
      return reply.auth.client_token;
    },
    async writePolicy(name, hcl) {
      await admin.write(`sys/policies/acl/${name}`, { policy: hcl });
    },
    async ensureKv1(name) {
      await admin.write(`sys/mounts/${name}`, { type: 'kv', options: { version: '1' } }).catch((error: unknown) => {
        if (!(error as Error).message.includes('already in use')) throw error;
      });
    },
    close: () => emulator?.close() ?? Promise.resolve(),
  };
}

/** The current KV v2 version of a secret, from its metadata. */
async function currentVersion(admin: NodeVaultClient, path: string): Promise<number> {
  const reply = (await admin.read(`secret/metadata/${path}`)) as { data: { current_version: number } };
  return reply.data.current_version;
}
