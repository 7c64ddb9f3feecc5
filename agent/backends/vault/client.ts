// Construct node-vault 0.12 safely for a sidecar (docs/vault.md, node-vault pitfalls): explicit TLS verification
// (its own VAULT_SKIP_VERIFY parsing turns "false" into "off"), a timeout, `?list=true` instead of LIST,
// no debug output, no `requestOptions.headers` (they pin the first token), and no environment leaks
// (VAULT_TOKEN, VAULT_NAMESPACE and VAULT_PREFIX are read by node-vault itself; we overwrite all three).
import { readFileSync } from 'node:fs';
import nodeVault from 'node-vault';
import type { Config } from '../../config/schema.js';
import { AgentError } from '../../errors.js';

/** The part of a node-vault client the agent uses; every result is `unknown` until parsed. */
export interface NodeVaultClient {
  token: string | undefined;
  namespace: string | undefined;
  pathPrefix: string;
  endpoint: string;
  read(path: string, requestOptions?: Record<string, unknown>): Promise<unknown>;
  write(path: string, data: unknown, requestOptions?: Record<string, unknown>): Promise<unknown>;
  list(path: string, requestOptions?: Record<string, unknown>): Promise<unknown>;
  /** Any method; `path` starts with "/". TLS comes from the client's agent, the timeout must be given per call. */
  request(options: { path: string; method: string; json?: unknown; headers?: Record<string, unknown>; timeout?: number }): Promise<unknown>;
  health(args?: Record<string, unknown>): Promise<unknown>;
  approleLogin(args: { role_id: string; secret_id: string; mount_point: string }): Promise<unknown>;
  kubernetesLogin(args: { role: string; jwt: string; mount_point: string }): Promise<unknown>;
}

// Why: Vault Enterprise serves these only from the root namespace; inside one they are 404 "unsupported path"
// (hashicorp/vault#14934), so they are sent without X-Vault-Namespace (docs/vault.md, "Namespaces and
// root-only paths"). The list: Vault's documented root-only paths a client like this one could call, plus
// sys/seal-status (not in Vault's list; counted root-only by docs/vault.md).
const ROOT_ONLY_PATHS = ['sys/health', 'sys/init', 'sys/leader', 'sys/seal-status', 'sys/step-down', 'sys/seal', 'sys/unseal', 'sys/generate-root', 'sys/rekey', 'sys/metrics', 'sys/host-info', 'sys/key-status', 'sys/storage'];

/** Whether an API path (`sys/health`, `sys/health?standbyok=true`, `sys/generate-root/attempt`) is root-only. */
export function isRootOnlyPath(path: string): boolean {
  const bare = path.replace(/^\/+/, '').replace(/[?#].*$/, '');
  return ROOT_ONLY_PATHS.some((root) => bare === root || bare.startsWith(`${root}/`));
}

/** node-vault's module export (the factory); injectable so tests can observe how it is called. */
export type NodeVaultFactory = (options: Record<string, unknown>) => unknown;

export const defaultNodeVault: NodeVaultFactory = nodeVault;

type VaultConfig = Config['vault'];

/** Read one PEM file named by a config key, failing with the key and path (never the content). */
function pem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new AgentError('ERR_CONFIG_INVALID', `vault.${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { details: { key: `vault.${key}`, path } });
  }
}

// Why: node-vault turns `ca`, `cert`, `key` and `strictSSL` into one https.Agent; an explicit strictSSL
// overrides its `!process.env.VAULT_SKIP_VERIFY`, so only our boolean (true/1/yes) decides.
/** The TLS and timeout part of `requestOptions` for a vault config. */
export function requestOptionsFor(config: VaultConfig): Record<string, unknown> {
  // keepAlive: node-vault's https.Agent would otherwise make a TLS handshake for every request (2,000 a cycle
  // at 2,000 secrets); plain http already reuses connections through Node's global agent.
  const options: Record<string, unknown> = { timeout: config.timeout, strictSSL: !config.tlsSkipVerify, agentOptions: { keepAlive: true } };
  if (config.caCert !== undefined) options['ca'] = pem('caCert', config.caCert);
  if (config.clientCert !== undefined) options['cert'] = pem('clientCert', config.clientCert);
  if (config.clientKey !== undefined) options['key'] = pem('clientKey', config.clientKey);
  return options;
}

/** A node-vault client bound to `address` with no token; the caller sets `token` on the object. With namespace "" it sends no X-Vault-Namespace. */
export function createNodeVaultClient(config: VaultConfig & { address: string }, factory: NodeVaultFactory = defaultNodeVault): NodeVaultClient {
  const client = factory({
    endpoint: config.address,
    apiVersion: 'v1',
    noCustomHTTPVerbs: true,
    // Why: node-vault logs request bodies (secrets, secret_id, jwt) through `debug`; a no-op keeps DEBUG=node-vault harmless.
    debug: () => undefined,
    requestOptions: requestOptionsFor(config),
  }) as NodeVaultClient;
  client.token = undefined;
  client.namespace = config.namespace === '' ? undefined : config.namespace;
  client.pathPrefix = '';
  return client;
}
