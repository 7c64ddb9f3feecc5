// What the CLI says about itself beyond each command: the global flags every command takes (before or after its
// name), the top-level help's exit codes and environment variables, and finding the command in argv.
import { Option } from 'commander';
import { BACKEND_NAMES } from '../backends/names.js';

/** The global flags, as factories (commander options are mutable, each program gets its own). */
export const GLOBAL_FLAGS: ReadonlyArray<() => Option> = [
  () => new Option('-c, --config <file>', 'configuration file, YAML or JSON (env SECRETS_AGENT_CONFIG)'),
  () => new Option('--templates <dir>', 'directory of *.hbs templates (env SECRETS_AGENT_TEMPLATES)'),
  () => new Option('--output <dir>', 'directory the files are written to (env SECRETS_AGENT_OUTPUT)'),
  () => new Option('--backend <name>', 'force one backend instead of the chain (env SECRETS_AGENT_BACKEND)').choices(['auto', ...BACKEND_NAMES]),
  () => new Option('--log-level <level>', 'log level (env SECRETS_AGENT_LOG_LEVEL)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
];

/** Global flags that take a value, in both spellings, for finding the command in argv. */
const TAKES_VALUE = new Set(['-c', '--config', '--templates', '--output', '--backend', '--log-level']);

/** The first operand of argv (the command's name), skipping global flags and their values; undefined when none. */
export function firstOperand(argv: readonly string[]): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    if (arg === '--') return argv[index + 1];
    if (!arg.startsWith('-') || arg === '-') return arg;
    if (TAKES_VALUE.has(arg)) index++;
  }
  return undefined;
}

export const HELP_AFTER = `
Global options go before or after the command: secrets-agent --config cfg.yaml once = secrets-agent once --config cfg.yaml.
With no command, secrets-agent runs as a sidecar (run).

Exit codes:
  0   ok
  1   a render, backend or notify failure (once, check, get: not found, health: the chain cannot serve, audit: overdue)
  2   bad command-line usage
  78  invalid configuration (every problem is listed with file:line:col)

Environment (configuration file < environment < flags):
  SECRETS_AGENT_CONFIG, SECRETS_AGENT_TEMPLATES, SECRETS_AGENT_OUTPUT, SECRETS_AGENT_BACKEND, SECRETS_AGENT_SCHEDULE,
  SECRETS_AGENT_LISTEN, SECRETS_AGENT_LOG_LEVEL, SECRETS_AGENT_LOG_FORMAT, SECRETS_AGENT_FILE, SECRETS_AGENT_ENV_PREFIX,
  SECRETS_AGENT_AWS_PREFIX, SECRETS_AGENT_VAULT_MOUNT, SECRETS_AGENT_VAULT_AUTH, SECRETS_AGENT_VAULT_ROLE,
  VAULT_ADDR, VAULT_TOKEN, VAULT_TOKEN_FILE, VAULT_NAMESPACE, VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY,
  VAULT_SKIP_VERIFY, AWS_REGION (or AWS_DEFAULT_REGION) and the AWS SDK's credential variables.

Docs: docs/commands.md, docs/configuration.md, docs/errors.md.
`;
