// The environment a `command` notifier runs with: the agent's own, minus anything that could be a secret.
//
// The rule, in order:
//   1. variables named in SECRET_ENV_NAMES are dropped (credentials the agent itself may have been given);
//   2. a variable whose value equals a secret value the agent holds is dropped (the env backend reads
//      secrets from variables; a reload script has no business seeing them);
//   3. a variable whose value contains a held secret value of at least MIN_CONTAINED_SECRET_LENGTH characters
//      is dropped too (`DATABASE_URL=postgres://app:<password>@db/app`). Shorter values are only matched
//      whole: "1" or "true" inside PATH or HOME says nothing.
// Everything else (PATH, HOME, LANG, TZ, ...) is passed through unchanged. Empty secret values are ignored.

/** Credentials for the agent itself, never handed to a child, whatever their value. */
export const SECRET_ENV_NAMES: readonly string[] = ['VAULT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN'];

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
