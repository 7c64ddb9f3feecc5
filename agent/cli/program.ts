// The command table: commander parses argv, every command gets the same common flags, and every outcome
// becomes one of the exit codes of docs/commands.md (0 ok, 1 failure, 2 usage, 78 configuration).
import { Command, CommanderError, Option } from 'commander';
import { AgentError } from '../errors.js';
import type { Charset } from '../ops/generate.js';
import { version } from '../version.js';
import type { CommandContext, CommandIo, CommonFlags } from '../runtime/context.js';
import { createContext } from '../runtime/context.js';

type Action = (context: CommandContext) => Promise<number>;

/** The outside world of the CLI: a command's io, plus stdin for `rotate --value-stdin` (process.stdin by default). */
export interface CliIo extends CommandIo {
  readonly stdin?: NodeJS.ReadableStream;
}

/** Run the CLI for `io.argv` (without node and the script) and return the exit code; never exits itself. */
export async function runCli(io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('secrets-agent')
    .description('Render secrets from Vault, AWS Secrets Manager, a file or the environment into files, and keep them fresh.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(run secrets-agent --help for usage)')
    .allowExcessArguments(false);

  const command = (name: string, description: string, action: Action): Command =>
    withCommonFlags(program.command(name).description(description).allowExcessArguments(false)).action(async (flags: CommonFlags) => {
      exitCode = await action(await createContext(io, flags));
    });

  withCommonFlags(program.command('run', { isDefault: true }).description('run as a sidecar: render, keep files fresh, notify on change (the default command)').allowExcessArguments(false)).action(async (flags: CommonFlags) => {
    exitCode = await (await import('./run.js')).runCommand(io, flags);
  });
  // Each command's module is loaded when it runs: start-up pays only for the command in use.
  command('once', 'render every template once, write the files that changed, and exit (0 all written, 1 any failed)', async (context) => (await import('./once.js')).onceCommand(context));
  withCommonFlags(program.command('check').option('--diff', 'also fetch, render in memory and show per file which keys or lines would change (values redacted)').description('validate the configuration and every template and list each template\'s dependencies; writes nothing').allowExcessArguments(false)).action(async (flags: CommonFlags & { diff?: boolean }) => {
    exitCode = await (await import('./check.js')).checkCommand(await createContext(io, flags), { diff: flags.diff === true });
  });
  withCommonFlags(program.command('get').argument('<path>', 'a secret path such as exchange/binance/api_key').option('--json', 'print every key of the path as one JSON object').description('print one secret value, or every key of a secret with --json').allowExcessArguments(false)).action(async (path: string, flags: CommonFlags & { json?: boolean }) => {
    exitCode = await (await import('./get.js')).getCommand(await createContext(io, flags), path, { ...(flags.json === undefined ? {} : { json: flags.json }), ...(flags.backend === undefined ? {} : { backend: flags.backend }) });
  });
  withCommonFlags(program.command('health').option('--json', 'print one JSON document').description('probe every backend of the chain: reachable, authenticated, latency, token TTL').allowExcessArguments(false)).action(async (flags: CommonFlags & { json?: boolean }) => {
    exitCode = await (await import('./health.js')).healthCommand(await createContext(io, flags), flags.json === undefined ? {} : { json: flags.json });
  });
  withCommonFlags(program.command('migrate').description('move the variables of a .env file into Vault or AWS Secrets Manager, one write per secret, never overwriting silently').allowExcessArguments(false)
    .addOption(new Option('--from-env <file>', 'the .env file to read').makeOptionMandatory())
    .addOption(new Option('--to <backend>', 'where the secrets go').choices(['vault', 'aws']).makeOptionMandatory())
    .option('--dry-run', 'print the plan (secret and key names, never values) and write nothing')
    .option('--map <file>', 'YAML or JSON of VARIABLE: secret/path/key (or false) for variables the built-in layout does not place')
    .option('--overwrite', 'merge the keys into secrets that already exist with other values')).action(async (flags: CommonFlags & { fromEnv: string; to: 'vault' | 'aws'; dryRun?: boolean; map?: string; overwrite?: boolean }) => {
    exitCode = await (await import('./migrate.js')).migrateCommand(await createContext(io, flags), { fromEnv: flags.fromEnv, to: flags.to, dryRun: flags.dryRun === true, overwrite: flags.overwrite === true, ...(flags.map === undefined ? {} : { map: flags.map }) });
  });
  withCommonFlags(program.command('rotate').argument('<path>', 'the key to rotate, such as exchange/binance/api_key').description('write a new version of one key with check-and-set and print the new version id (never the value)').allowExcessArguments(false)
    .option('--value-stdin', 'read the new value from stdin (one trailing newline is dropped)')
    .option('--generate <n>', 'generate a random value of n characters with the system CSPRNG')
    .addOption(new Option('--charset <name>', 'characters of a generated value (default base62)').choices(['base62', 'hex']))).action(async (path: string, flags: CommonFlags & { valueStdin?: boolean; generate?: string; charset?: Charset }) => {
    const { valueStdin, generate, charset, backend } = flags;
    exitCode = await (await import('./rotate.js')).rotateCommand(await createContext(io, flags), path, { stdin: io.stdin ?? process.stdin, ...(valueStdin === undefined ? {} : { valueStdin }), ...(generate === undefined ? {} : { generate }), ...(charset === undefined ? {} : { charset }), ...(backend === undefined ? {} : { backend }) });
  });
  withCommonFlags(program.command('audit').description('list every secret the templates use with its version and last-changed time; exit 1 when any is older than --max-age').allowExcessArguments(false)
    .option('--max-age <duration>', 'the rotation policy (default 90d)')
    .option('--json', 'print one JSON array of {path, backend, version, lastChanged, ageDays, overdue}')
    .option('--all [prefix]', 'every secret under a prefix in Vault and AWS instead of the templates\' paths (no prefix: everything)')).action(async (flags: CommonFlags & { maxAge?: string; json?: boolean; all?: string | true }) => {
    const { maxAge, json, all } = flags;
    exitCode = await (await import('./audit.js')).auditCommand(await createContext(io, flags), { ...(maxAge === undefined ? {} : { maxAge }), ...(json === undefined ? {} : { json }), ...(all === undefined ? {} : { all }) });
  });
  program.command('version').description('print the version').action(() => {
    io.stdout.write(`${version}\n`);
  });

  try {
    await program.parseAsync([...io.argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportFailure(error, io);
  }
}

function withCommonFlags(command: Command): Command {
  return command
    .addOption(new Option('-c, --config <file>', 'configuration file, YAML or JSON (env SECRETS_AGENT_CONFIG)'))
    .addOption(new Option('--templates <dir>', 'directory of *.hbs templates (env SECRETS_AGENT_TEMPLATES)'))
    .addOption(new Option('--output <dir>', 'directory the files are written to (env SECRETS_AGENT_OUTPUT)'))
    .addOption(new Option('--backend <name>', 'force one backend instead of the chain (env SECRETS_AGENT_BACKEND)').choices(['auto', 'vault', 'aws', 'file', 'env']))
    .addOption(new Option('--log-level <level>', 'log level (env SECRETS_AGENT_LOG_LEVEL)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']));
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
