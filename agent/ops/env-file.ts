// Read a `.env` for `migrate` with the agent's own strict dotenv parser (agent/template/assignments.ts): a line
// is accepted only when python-dotenv, the dotenv npm package and Node's util.parseEnv read the same key and
// value from it, so what migrate stores is what the application read. Errors name the file and line, never text.
import { readFile } from 'node:fs/promises';
import { AgentError, isAgentError } from '../errors.js';
import { parseAssignments } from '../template/assignments.js';

export interface EnvVariable {
  readonly name: string;
  readonly value: string;
  /** 1-based line of the assignment that counts (the last one, as every dotenv reader does). */
  readonly line: number;
  /** Earlier lines that set the same name and were overridden. */
  readonly overridden: readonly number[];
}

/** Why: CRLF files from Windows editors are common; every reader treats CRLF as a line break. */
export function parseEnvText(text: string, file: string): EnvVariable[] {
  const normalized = (text.startsWith('\ufeff') ? text.slice(1) : text).replaceAll('\r\n', '\n');
  let assignments;
  try {
    assignments = parseAssignments('dotenv', normalized);
  } catch (error) {
    if (!isAgentError(error)) throw error;
    throw new AgentError('ERR_MIGRATE_INPUT', `migrate: ${file}: ${error.message}; nothing was written`, { cause: error, details: { file, ...error.details } });
  }
  const byName = new Map<string, EnvVariable>();
  for (const { key, value, line } of assignments) {
    const earlier = byName.get(key);
    byName.delete(key);
    byName.set(key, { name: key, value, line, overridden: earlier ? [...earlier.overridden, earlier.line] : [] });
  }
  return [...byName.values()].sort((a, b) => a.line - b.line);
}

/** Read and parse `file`; invalid UTF-8 is refused rather than stored as replacement characters. */
export async function readEnvFile(file: string): Promise<EnvVariable[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new AgentError('ERR_MIGRATE_INPUT', `migrate: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error, details: { file } });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new AgentError('ERR_MIGRATE_INPUT', `migrate: ${file} is not valid UTF-8; nothing was written`, { cause: error, details: { file } });
  }
  return parseEnvText(text, file);
}
