// The three ways to get a Vault token (docs/configuration.md): a token value or file, AppRole (role and secret id
// files read at each login) and Kubernetes (the service-account JWT re-read at each login, the auth
// mount passed explicitly because node-vault otherwise posts to /v1/auth//login, upstream #300).
import { readFile } from 'node:fs/promises';
import type { Config } from '../../../config/schema.js';
import type { VaultHttp } from '../http.js';
import { parseAuth } from './grants.js';
import type { Grant } from './grants.js';

type AuthConfig = Config['vault']['auth'];

/** A token from a method: `grant` carries what the login said about it (token values carry nothing). */
export type LoginResult =
  | { readonly ok: true; readonly token: string; readonly grant: Grant | undefined }
  | { readonly ok: false; readonly kind: 'refused' | 'unavailable'; readonly reason: string };

export interface AuthMethod {
  readonly name: AuthConfig['method'];
  /** True when a login mints a new token (approle, kubernetes); a token value or file only reads one. */
  readonly canLogin: boolean;
  /** The file a token is read from, for watching (token method only). */
  readonly tokenFile: string | undefined;
  /** Get a token: read it, or log in. Never throws; failures name the file or the endpoint, never a value. */
  login(): Promise<LoginResult>;
}

/** The trimmed content of a credential file named by `vault.auth.<key>`, or a refusal naming it. */
async function readCredential(key: string, path: string): Promise<{ value: string } | { reason: string }> {
  try {
    const value = (await readFile(path, 'utf8')).trim();
    return value === '' ? { reason: `vault.auth.${key}: ${path} is empty` } : { value };
  } catch (error) {
    return { reason: `vault.auth.${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` };
  }
}

/** The method for a config; `login` is the tokenless client used only for login requests. */
export function createAuthMethod(config: AuthConfig, login: VaultHttp): AuthMethod {
  switch (config.method) {
    case 'token':
      return {
        name: 'token',
        canLogin: false,
        tokenFile: config.tokenFile,
        // Why: the file wins over the value, because only the file can be replaced while the agent runs.
        async login() {
          if (config.tokenFile !== undefined) {
            const read = await readCredential('tokenFile', config.tokenFile);
            return 'value' in read ? { ok: true, token: read.value, grant: undefined } : { ok: false, kind: 'refused', reason: read.reason };
          }
          if (config.token !== undefined) return { ok: true, token: config.token, grant: undefined };
          return { ok: false, kind: 'refused', reason: 'no vault token: set vault.auth.token (VAULT_TOKEN) or vault.auth.tokenFile (VAULT_TOKEN_FILE)' };
        },
      };
    case 'approle':
      return loginMethod('approle', login, config.mountPath, async () => {
        const roleId = await readCredential('roleIdFile', config.roleIdFile ?? '');
        if (!('value' in roleId)) return roleId;
        const secretId = await readCredential('secretIdFile', config.secretIdFile ?? '');
        if (!('value' in secretId)) return secretId;
        return { run: () => login.client.approleLogin({ role_id: roleId.value, secret_id: secretId.value, mount_point: config.mountPath }), secrets: [secretId.value] };
      });
    case 'kubernetes':
      return loginMethod('kubernetes', login, config.mountPath, async () => {
        const jwt = await readCredential('jwtFile', config.jwtFile);
        if (!('value' in jwt)) return jwt;
        return { run: () => login.client.kubernetesLogin({ role: config.role ?? '', jwt: jwt.value, mount_point: config.mountPath }), secrets: [jwt.value] };
      });
  }
}

/** A login ready to send; `secrets`: what it carries that no message may show (the secret_id, the JWT). */
type Prepared = { run: () => Promise<unknown>; secrets: readonly string[] } | { reason: string };

/** A method that logs in: read the credentials, call the login command, parse the auth block. */
function loginMethod(name: 'approle' | 'kubernetes', http: VaultHttp, mount: string, prepare: () => Promise<Prepared>): AuthMethod {
  return {
    name,
    canLogin: true,
    tokenFile: undefined,
    // Why: credentials are read at every login: secret ids and projected JWTs rotate under a running agent.
    async login() {
      const prepared = await prepare();
      if ('reason' in prepared) return { ok: false, kind: 'refused', reason: prepared.reason };
      const path = `auth/${mount}/login`;
      const reply = await http.call('POST', path, prepared.run, prepared.secrets);
      // Why: login commands are node-vault "tokenSource" commands; the login client must stay tokenless.
      http.client.token = undefined;
      if (reply.kind === 'ok') {
        const grant = parseAuth(reply.body, http.where('POST', path));
        return { ok: true, token: grant.token, grant };
      }
      if (reply.kind === 'unavailable') return { ok: false, kind: 'unavailable', reason: reply.reason };
      const detail = reply.kind === 'denied' ? reply.message : reply.kind === 'rejected' ? reply.message : `${http.where('POST', path)}: no ${name} auth method is mounted there (HTTP 404)`;
      return { ok: false, kind: 'refused', reason: `${name} login refused: ${detail}` };
    },
  };
}
