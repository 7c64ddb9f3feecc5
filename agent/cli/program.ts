// The command table: commander parses argv, every command takes the same global flags before or after its name,
// and every outcome becomes one of the exit codes of docs/commands.md (0 ok, 1 failure, 2 usage, 78 configuration).
import { Command, CommanderError, Help, Option } from 'commander';
import { WRITABLE_BACKEND_NAMES } from '../backends/names.js';
import type { WritableBackendName } from '../backends/names.js';
import { closest } from '../config/suggest.js';
import { AgentError } from '../errors.js';
import type { Charset } from '../ops/generate.js';
import { version } from '../version.js';
import type { CommandContext, CommandIo, CommonFlags } from '../runtime/context.js';
import { createContext } from '../runtime/context.js';
import { GLOBAL_FLAGS, HELP_AFTER, firstOperand } from './usage.js';

type Action = (context: CommandContext) => Promise<number>;

/** The outside world of the CLI: a command's io, plus stdin for `rotate --value-stdin` (process.stdin by default). */
export interface CliIo extends CommandIo {
  readonly stdin?: NodeJS.ReadableStream;
}

/** Which global flags each command uses; its --help lists only those (the others are accepted and ignored). */
const USES: Readonly<Record<string, readonly string[]>> = {
  run: ['config', 'templates', 'output', 'backend', 'logLevel'],
  once: ['config', 'templates', 'output', 'backend', 'logLevel'],
  check: ['config', 'templates', 'output', 'backend', 'logLevel'],
  audit: ['config', 'templates', 'backend', 'logLevel'],
  get: ['config', 'backend', 'logLevel'],
  health: ['config', 'backend', 'logLevel'],
  rotate: ['config', 'backend', 'logLevel'],
  migrate: ['config', 'logLevel'],
  version: [],
};

/** Run the CLI for `io.argv` (without node and the script) and return the exit code; never exits itself. */
export async function runCli(io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('secrets-agent')
    .description('Render secrets from Vault, AWS Secrets Manager, a file or the environment into files, and keep them fresh.')
    .usage('[command] [options]')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .configureHelp({ showGlobalOptions: true, visibleGlobalOptions: (cmd: Command) => globalOptionsOf(cmd) })
    .showHelpAfterError('(run secrets-agent --help for usage)')
    .version(version, '-V, --version', 'print the version')
    .addHelpText('after', HELP_AFTER)
    .allowExcessArguments(false);
  for (const option of GLOBAL_FLAGS) program.addOption(option());

  const context = (cmd: Command, options: { offline?: boolean } = {}): Promise<CommandContext> => createContext(io, cmd.optsWithGlobals<CommonFlags>(), undefined, options);
  const command = (name: string, description: string): Command => program.command(name).description(description).allowExcessArguments(false);
  const simple = (name: string, description: string, action: Action): void => {
    command(name, description).action(async (_flags: unknown, cmd: Command) => {
      exitCode = await action(await context(cmd));
    });
  };

  command('run', 'run as a sidecar: render, keep files fresh, notify on change (the default command)').action(async (_flags: unknown, cmd: Command) => {
    exitCode = await (await import('./run.js')).runCommand(io, cmd.optsWithGlobals<CommonFlags>());
  });
  // Each command's module is loaded when it runs: start-up pays only for the command in use.
  simple('once', 'render every template once, write the files that changed, and exit (0 all written, 1 any failed)', async (ctx) => (await import('./once.js')).onceCommand(ctx));
  command('check', 'validate the configuration and every template and list each template\'s dependencies, offline; writes nothing')
    .option('--diff', 'also fetch, render in memory and show per file which keys or lines would change (values redacted)')
    .action(async (flags: { diff?: boolean }, cmd: Command) => {
      const diff = flags.diff === true;
      exitCode = await (await import('./check.js')).checkCommand(await context(cmd, { offline: !diff }), { diff });
    });
  command('get', 'print one secret value, or every key of a secret with --json')
    .argument('<path>', 'a secret path such as exchange/binance/api_key')
    .option('--json', 'print every key of the path as one JSON object')
    .action(async (path: string, flags: { json?: boolean }, cmd: Command) => {
      const { backend } = cmd.optsWithGlobals<CommonFlags>();
      exitCode = await (await import('./get.js')).getCommand(await context(cmd), path, { ...(flags.json === undefined ? {} : { json: flags.json }), ...(backend === undefined ? {} : { backend }) });
    });
  command('health', 'probe every backend of the chain: reachable, authenticated, latency, token TTL')
    .option('--json', 'print one JSON document')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      exitCode = await (await import('./health.js')).healthCommand(await context(cmd), flags.json === undefined ? {} : { json: flags.json });
    });
  command('migrate', 'move the variables of a .env file into Vault or AWS Secrets Manager, one write per secret, never overwriting silently')
    .addOption(new Option('--from-env <file>', 'the .env file to read').makeOptionMandatory())
    .addOption(new Option('--to <backend>', 'where the secrets go').choices(WRITABLE_BACKEND_NAMES).makeOptionMandatory())
    .option('--dry-run', 'print the plan (secret and key names, never values) and write nothing')
    .option('--map <file>', 'YAML or JSON of VARIABLE: secret/path/key (or false) for variables the built-in layout does not place')
    .option('--overwrite', 'merge the keys into secrets that already exist with other values')
    .action(async (flags: { fromEnv: string; to: WritableBackendName; dryRun?: boolean; map?: string; overwrite?: boolean }, cmd: Command) => {
      exitCode = await (await import('./migrate.js')).migrateCommand(await context(cmd), { fromEnv: flags.fromEnv, to: flags.to, dryRun: flags.dryRun === true, overwrite: flags.overwrite === true, ...(flags.map === undefined ? {} : { map: flags.map }) });
    });
  command('rotate', 'write a new version of one key with check-and-set and print the new version id (never the value); --every records its rotation period')
    .argument('<path>', 'the key to rotate, such as exchange/binance/api_key')
    .option('--value-stdin', 'read the new value from stdin (one trailing newline is dropped)')
    .option('--generate <n>', 'generate a random value of n characters with the system CSPRNG')
    .addOption(new Option('--charset <name>', 'characters of a generated value (default base62)').choices(['base62', 'hex']))
    .option('--every <duration>', 'record the secret\'s rotation period with the secret (Vault custom_metadata, AWS tags), such as 90d')
    .option('--auto', 'let running agents with rotation.auto: true generate its next values when due (needs --every and --generate N)')
    .action(async (path: string, flags: { valueStdin?: boolean; generate?: string; charset?: Charset; every?: string; auto?: boolean }, cmd: Command) => {
      const { valueStdin, generate, charset, every, auto } = flags;
      const { backend } = cmd.optsWithGlobals<CommonFlags>();
      exitCode = await (await import('./rotate.js')).rotateCommand(await context(cmd), path, { stdin: io.stdin ?? process.stdin, ...(valueStdin === undefined ? {} : { valueStdin }), ...(generate === undefined ? {} : { generate }), ...(charset === undefined ? {} : { charset }), ...(every === undefined ? {} : { every }), ...(auto === undefined ? {} : { auto }), ...(backend === undefined ? {} : { backend }) });
    });
  command('audit', 'list every secret the templates use with its version, last-changed time and rotation period (its own, else --max-age); exit 1 when any is past due')
    .option('--max-age <duration>', 'the rotation period of secrets that record none of their own (default 90d)')
    .option('--json', 'print one JSON array of {path, backend, version, lastChanged, ageDays, period, due, auto, overdue}')
    .option('--all [prefix]', 'every secret under a prefix in Vault and AWS instead of the templates\' paths (no prefix: everything)')
    .action(async (flags: { maxAge?: string; json?: boolean; all?: string | true }, cmd: Command) => {
      const { maxAge, json, all } = flags;
      exitCode = await (await import('./audit.js')).auditCommand(await context(cmd), { ...(maxAge === undefined ? {} : { maxAge }), ...(json === undefined ? {} : { json }), ...(all === undefined ? {} : { all }) });
    });
  command('version', 'print the version').action(() => {
    io.stdout.write(`${version}\n`);
  });

  try {
    await program.parseAsync(withCommand(io.argv, program), { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportFailure(error, io);
  }
}

/**
 * argv with its command: `run` when there is none (the default command), unless only --help or --version was
 * asked; an operand that names no command is a usage error with the closest command ("onec" → "once").
 */
function withCommand(argv: readonly string[], program: Command): string[] {
  const names = program.commands.map((cmd) => cmd.name());
  const operand = firstOperand(argv);
  if (operand === undefined) {
    return argv.some((arg) => ['-h', '--help', '-V', '--version'].includes(arg)) ? [...argv] : [...argv, 'run'];
  }
  if (names.includes(operand)) return [...argv];
  const guess = closest(operand, names);
  throw new AgentError('ERR_USAGE', `unknown command '${operand}'${guess === undefined ? '' : ` (did you mean '${guess}'?)`}; the commands are ${names.join(', ')}`);
}

/** The global options a command's help lists: those it uses. */
function globalOptionsOf(cmd: Command): Option[] {
  if (!cmd.parent) return []; // the top-level help lists them as its own options
  const uses = USES[cmd.name()] ?? [];
  return new Help().visibleOptions(cmd.parent).filter((option) => uses.includes(option.attributeName()));
}

/** Usage errors exit 2; AgentErrors exit with their code's status; anything else is a bug and exits 1. */
function reportFailure(error: unknown, io: CommandIo): number {
  if (error instanceof CommanderError) {
    // --help and --version end through exitOverride with status 0; the text is already printed.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof AgentError) {
    io.stderr.write(`secrets-agent: ${error.message}\n`);
    return error.exitCode;
  }
  io.stderr.write(`secrets-agent: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
  return 1;
}
