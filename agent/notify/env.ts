// The environment a `command` notifier runs with: the agent's own, minus anything that could be a secret.
//
// The rule, in order:
//   1. variables named in SECRET_ENV_NAMES are dropped (credentials the agent itself may have been given, and
//      where to find them);
//   2. a variable whose value equals a secret value the agent holds is dropped (the env backend reads
//      secrets from variables; a reload script has no business seeing them);
//   3. a variable whose value contains a held secret value of at least MIN_CONTAINED_SECRET_LENGTH characters
//      is dropped too (`DATABASE_URL=postgres://app:<password>@db/app`). Shorter values are only matched
//      whole: "1" or "true" inside PATH or HOME says nothing.
// Everything else (PATH, HOME, LANG, TZ, ...) is passed through unchanged. Empty secret values are ignored.

/**
 * Credentials for the agent itself, never handed to a child, whatever their value: every variable through which
 * the agent or the SDKs it loads (node-vault, the AWS SDK's default chain) take an identity. Paths are dropped
 * too (VAULT_TOKEN_FILE, AWS_WEB_IDENTITY_TOKEN_FILE, ...): a reload script that finds them would act as the
 * agent without being asked to, and the vault and aws CLIs read them. AppRole ids and the Kubernetes JWT come
 * only from files named in the configuration (vault.auth.*File), never from a variable. Names that select
 * where, not who (VAULT_ADDR, AWS_REGION, AWS_CONFIG_FILE) are kept. runtime/exposure.ts reads the same list:
 * any of them set means the agent holds a credential.
 */
export const SECRET_ENV_NAMES: readonly string[] = [
  // Vault: the token, the file it is read from, the mTLS client identity.
  'VAULT_TOKEN', 'VAULT_TOKEN_FILE', 'VAULT_CLIENT_CERT', 'VAULT_CLIENT_KEY',
  // AWS static and temporary keys (AWS_SECURITY_TOKEN is the old name of the session token).
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_CREDENTIAL_EXPIRATION',
  // Which profile of the shared files is the agent's.
  'AWS_PROFILE',
  // Web identity (EKS IRSA): the token file and the role it is exchanged for.
  'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME',
  // Container credentials (ECS task roles, EKS Pod Identity): the endpoint and its authorization token.
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
];

/** A held value at least this long drops every variable that merely contains it. */
export const MIN_CONTAINED_SECRET_LENGTH = 8;

// Why: one pure function holds the whole rule, so it is documented and tested in one place.
/** The child's environment and the names that were dropped from `env` (names only: they are not secret). */
export function childEnvironment(env: NodeJS.ProcessEnv, secretValues: Iterable<string>): { env: Record<string, string>; dropped: string[] } {
  const exact = new Set<string>();
  const contained: string[] = [];
  for (const value of secretValues) {
    if (value === '') continue;
    exact.add(value);
    if (value.length >= MIN_CONTAINED_SECRET_LENGTH) contained.push(value);
  }
  const kept: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (SECRET_ENV_NAMES.includes(name) || exact.has(value) || contained.some((secret) => value.includes(secret))) dropped.push(name);
    else kept[name] = value;
  }
  return { env: kept, dropped: dropped.sort() };
}
