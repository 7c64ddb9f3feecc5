// What every command starts from: the merged configuration, a logger, and (for commands that need them)
// the prepared templates and the chain of backends. Commands never read argv or process.env themselves.
import { createChain } from '../backends/create.js';
import { loadConfig } from '../config/load.js';
import type { ConfigFlags } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { AgentError, isAgentError } from '../errors.js';
import { Scrubber } from '../log/scrub.js';
import { sendProcessWarningsTo } from '../log/warnings.js';
import type { StoreMemory } from '../store/memory.js';
import { SecretStore, describeOutage } from '../store/store.js';
import type { StoreEvents } from '../store/store.js';
import type { Clock, Random } from '../util/clock.js';
import { loadTemplates } from '../template/load.js';
import type { LoadResult } from '../template/load.js';
import { assertOutputFilesystem } from '../write/filesystem.js';
import { ensureOutputDirectory, pinOutputDirectory } from '../write/output.js';

/** The outside world as a command sees it; tests pass their own. */
export interface CommandIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Where log lines go; fd 2 by default. */
  readonly logStream?: NodeJS.WritableStream;
  /** Ends the process at once (a second SIGTERM); only main.ts supplies the real one. */
  readonly exit?: (code: number) => void;
}

/** The flags every command accepts (docs/commands.md: "every command takes --config FILE and the same flags"). */
export interface CommonFlags {
  config?: string;
  templates?: string;
  output?: string;
  backend?: string;
  logLevel?: string;
}

export interface CommandContext {
  readonly config: Config;
  readonly log: Logger;
  readonly io: CommandIo;
  /** Every secret value the command holds; the logger removes them from every line. */
  readonly scrubber: Scrubber;
}

/** Load the configuration (file < env < flags) and make the logger it asks for. */
export async function createContext(io: CommandIo, flags: CommonFlags, scrubber = new Scrubber(), options: { offline?: boolean } = {}): Promise<CommandContext> {
  const configFlags: ConfigFlags = {
    ...(flags.templates === undefined ? {} : { templates: flags.templates }),
    ...(flags.output === undefined ? {} : { output: flags.output }),
    ...(flags.backend === undefined ? {} : { backend: flags.backend }),
    ...(flags.logLevel === undefined ? {} : { logLevel: flags.logLevel }),
  };
  const config = await loadConfig({ file: flags.config, env: io.env, flags: configFlags, cwd: io.cwd, ...(options.offline === true ? { offline: true } : {}) });
  const log = createLogger({ level: config.log.level, format: config.log.format, scrubber, ...(io.logStream ? { stream: io.logStream } : {}) });
  sendProcessWarningsTo(log.child({ component: 'node' }));
  return { config, log, io, scrubber };
}

export interface StoreSetup {
  readonly events?: Pick<StoreEvents, 'onFetch' | 'onProvenanceConflict'>;
  /** Last good values and provenance carried over from an earlier store of the same output directory. */
  readonly memory?: StoreMemory;
  readonly clock?: Clock;
  readonly random?: Random;
}

/**
 * The chain of configured backends behind one store. No backend is started here: the store starts each one before
 * its first read, so a backend that is down at start is unavailable for that read, never a reason to exit.
 */
export async function createStore(context: CommandContext, setup: StoreSetup = {}): Promise<SecretStore> {
  const backends = await createChain(context.config, context.io.env, context.log);
  const log = context.log.child({ component: 'store' });
  return new SecretStore({
    chain: backends,
    // A forced backend (`backend: vault`, `--backend env`) answers alone: no provenance read or recorded.
    pinned: context.config.backend !== 'auto',
    ...(setup.memory ? { memory: setup.memory } : {}),
    ...(setup.clock ? { clock: setup.clock } : {}),
    ...(setup.random ? { random: setup.random } : {}),
    events: {
      ...setup.events,
      onUnavailable: (event) => {
        const { fields, message } = describeOutage(event);
        log.warn(fields, message);
      },
    },
  });
}

/** Templates of the configured directory; a template that fails to prepare is reported, not fatal. */
export async function loadConfiguredTemplates(context: CommandContext): Promise<LoadResult> {
  return withTemplatesHint(() => loadTemplates(context.config.templates));
}

/**
 * Run `load`; a missing or empty templates directory says where the setting comes from, since the usual cause is
 * a command started without its configuration (the default is /etc/secrets-agent/templates).
 */
export async function withTemplatesHint<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isAgentError(error, 'ERR_TEMPLATE_DIR')) throw error;
    const hint = 'the templates directory is set by --templates, SECRETS_AGENT_TEMPLATES, or `templates:` in the configuration file given with --config or SECRETS_AGENT_CONFIG';
    throw new AgentError('ERR_TEMPLATE_DIR', `${error.message} (${hint})`, { cause: error, details: error.details });
  }
}

/**
 * Make the output directory ready (docs/operations.md "The output directory"): created when missing, refused when it
 * is a symlink (ERR_OUTPUT_DIR), a warning — or with requireTmpfs a refusal — when it is on disk, then pinned by
 * (device, inode) for the life of the process. The first time a process pins it, the temp files an interrupted
 * write left are removed; a SIGHUP reload with the same `output` only checks it is still the pinned directory.
 */
export async function prepareOutput(context: CommandContext): Promise<void> {
  const { output, requireTmpfs } = context.config;
  const log = context.log.child({ component: 'write' });
  await ensureOutputDirectory(output);
  const { warning } = await assertOutputFilesystem(output, requireTmpfs);
  if (warning !== undefined) log.warn({ output }, warning);
  const pinned = await pinOutputDirectory(output);
  if (pinned.removed.length > 0) log.info({ output, removed: pinned.removed.join(', ') }, `removed ${pinned.removed.length} temp file(s) that an interrupted write left in ${output}`);
  const generations = pinned.removedGenerations ?? [];
  if (generations.length > 0) log.info({ output, removed: generations.join(', ') }, `removed ${generations.length} set generation(s) that an interrupted write left in ${output} (..data points to neither)`);
  for (const { name, code } of pinned.failed) log.warn({ output, file: name, errno: code }, `cannot remove the temp file ${name} that an interrupted write left in ${output}: ${code}`);
  if (pinned.warning !== undefined) log.warn({ output }, pinned.warning);
}
