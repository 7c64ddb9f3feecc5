// One error class and one registry of stable codes. Operators and library users branch on `code`;
// docs/errors.md documents every code and a test keeps the two in sync.

/** Every error code the agent can raise, with the exit code a command ends with and a one-line meaning. */
export const errorCodes = {
  ERR_USAGE: { exit: 2, summary: 'bad command-line usage: unknown command, flag or argument' },
  ERR_CONFIG_INVALID: { exit: 78, summary: 'the configuration failed validation; every problem is listed' },
  ERR_CONFIG_FILE: { exit: 78, summary: 'the configuration file could not be read or parsed' },
  ERR_TEMPLATE_DIR: { exit: 78, summary: 'the templates directory is missing, unreadable or holds no *.hbs file' },
  ERR_TEMPLATE_FRONT_MATTER: { exit: 1, summary: 'a template\'s YAML front matter is malformed or has an invalid key' },
  ERR_TEMPLATE_PARSE: { exit: 1, summary: 'a template is not valid Handlebars (file and line named)' },
  ERR_TEMPLATE_DYNAMIC_PATH: { exit: 1, summary: 'a secret path in a template is not a string literal, so it cannot be known before rendering' },
  ERR_TEMPLATE_RENDER: { exit: 1, summary: 'a template failed while rendering (file, line and cause named)' },
  ERR_TEMPLATE_LIMIT: { exit: 1, summary: 'a template is over a limit (file, line and limit named): 1 MiB, 64 nested blocks, 2,000 expressions, refused before Handlebars parses it; or, while rendering, 20,000 helper calls and #each iterations, an output over 1 MiB (raw) or 128 KiB (other formats) or 10,000 YAML tokens; nothing is written' },
  ERR_TEMPLATE_QUOTED: { exit: 1, summary: 'a {{x}} that quotes itself sits inside quotes the template wrote (or inside other text of one value), so the file would not read back as the value; drop the quotes (file and line named)' },
  ERR_DESTINATION: { exit: 1, summary: 'a destination resolves outside the output directory, is a symlink, or collides with another template' },
  ERR_ENCODE_REFUSED: { exit: 1, summary: 'a value cannot be written exactly in the template\'s format; nothing is written' },
  ERR_OUTPUT_INVALID: { exit: 1, summary: 'rendered output does not parse back to what the template wrote; nothing is written' },
  ERR_SECRET_NOT_FOUND: { exit: 1, summary: 'no backend holds the secret path or key' },
  ERR_SECRET_DENIED: { exit: 1, summary: 'a backend refused access to a secret path; no fallback is tried' },
  ERR_BACKEND_UNAVAILABLE: { exit: 1, summary: 'a backend could not be reached or could not answer' },
  ERR_PROVENANCE_CONFLICT: { exit: 1, summary: 'the backend that served a path now says it does not exist; no lower backend serves it and the file keeps its content (warn level)' },
  ERR_PROVENANCE_FILE: { exit: 1, summary: 'the provenance kept in <output>/.secrets-agent/ cannot be read or parsed; nothing is written until it is fixed or removed' },
  ERR_BACKEND_DATA: { exit: 1, summary: 'a backend holds data of the wrong shape at a path (a map where a value was expected, or the reverse)' },
  ERR_OUTPUT_NOT_TMPFS: { exit: 1, summary: 'requireTmpfs is set and the output directory is not on tmpfs or ramfs' },
  ERR_OUTPUT_DIR: { exit: 1, summary: 'the output directory is a symlink or not a directory, or is no longer the directory the agent started with; nothing is written there (restart to use a new one)' },
  ERR_WRITE: { exit: 1, summary: 'an output file could not be written; the previous file is untouched' },
  ERR_SET_INCOMPLETE: { exit: 1, summary: 'a set was not written because one of its templates failed or was refused (named); every file of the set keeps its current generation' },
  ERR_AUTH: { exit: 1, summary: 'authentication with a backend failed: bad or expired token, login refused, missing role, JWT or secret-id file' },
  ERR_BACKEND_RESPONSE: { exit: 1, summary: 'a backend answered with a malformed or unexpected body' },
  ERR_NO_CREDENTIALS: { exit: 1, summary: 'the AWS SDK found no credentials in its default chain (the message lists where it looked)' },
  ERR_CREDENTIALS_EXPOSED: { exit: 1, summary: 'warn level, never an exit: the agent holds a Vault or AWS credential, is dumpable (started from a readable node binary, or as root) and sees processes of its UID outside its own process tree, which can read its environment, memory and files through /proc; run the image\'s execute-only node or give the application another UID' },
  ERR_LEASE_EXPIRED: { exit: 1, summary: 'the lease or certificate of a vault helper call ended and Vault gave no new one (the call is named); the file keeps its last content (warn level)' },
  ERR_CAS_CONFLICT: { exit: 1, summary: 'a check-and-set write lost a race: the secret changed between read and write; nothing was overwritten' },
  ERR_NOTIFY: { exit: 1, summary: 'a notifier failed (signal target missing, command failed or timed out, HTTP error); the agent keeps running' },
  ERR_MIGRATE_INPUT: { exit: 1, summary: 'migrate cannot use its input: the .env or --map file is unreadable, ambiguous to dotenv readers, or maps two variables to one key (file and line named); nothing is written' },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface AgentErrorOptions {
  /** The underlying error; kept for debugging, its message must already be free of secret values. */
  cause?: unknown;
  /** Facts about the failure (template, line, path, key, backend) for structured logs. Never a secret value. */
  details?: Record<string, string | number | boolean | undefined>;
}

/** The one error class of the agent: a stable `code`, a message that names what failed, never a value. */
export class AgentError extends Error {
  override name = 'AgentError' as const;
  readonly code: ErrorCode;
  readonly details: Record<string, string | number | boolean | undefined>;

  constructor(code: ErrorCode, message: string, options: AgentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** The process exit code for a command that ends with this error (docs/commands.md). */
  get exitCode(): number {
    return errorCodes[this.code].exit;
  }
}

/** True when `error` is an AgentError, optionally with one of the given codes. */
export function isAgentError(error: unknown, ...codes: ErrorCode[]): error is AgentError {
  return error instanceof AgentError && (codes.length === 0 || codes.includes(error.code));
}
