// Build step: write the JSON Schema of the config file (published as `secrets-agent/config.schema.json`, for
// editors). Usage: node dist/agent/config/emit-schema.js OUT.json
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from './schema.js';

// Why: the build and the tests write the same bytes, so this is a function and the CLI part is a thin shell.
/** Write the config JSON Schema (pretty-printed, trailing newline) to `outPath`, creating its directory. */
export async function writeConfigSchema(outPath: string): Promise<void> {
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(configJsonSchema(), null, 2)}\n`, 'utf8');
}

// Why: run only when executed as a script, so importing this module (tests) has no side effect.
async function main(argv: readonly string[]): Promise<number> {
  const out = argv[0];
  if (out === undefined || argv.length !== 1) {
    process.stderr.write('usage: emit-schema OUT.json\n');
    return 2;
  }
  await writeConfigSchema(resolve(out));
  return 0;
}

const entry = process.argv[1];
if (entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
