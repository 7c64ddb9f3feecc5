// The bin as an esbuild bundle (docs/docker.md "Memory and start-up"): `npm run build` runs this after tsc.
// dist/agent/main.js (tsc's output) is replaced by the bundle's entry; its chunks (the commands and the Vault and
// AWS backends, each loaded on use) and the template worker sit beside it as chunk-*.js and prepare-worker.js, so
// `new URL('./prepare-worker.js', import.meta.url)` resolves from whichever file the preparer lands in. The rest
// of dist/agent/ stays tsc's output (the library export, the schema emitter). bench/cases/soak.ts bundles its
// in-process harness with the same options, so the soak measures the code the bin runs.
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BuildOptions, Metafile } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));

/** The template worker: an entry of every bundle that can prepare templates (see agent/template/preparer.ts). */
export const workerEntry = { 'prepare-worker': join(root, 'agent/template/prepare-worker.ts') };

export const bundleOptions: BuildOptions = {
  bundle: true,
  // Dynamic imports stay separate chunks: `once` with only Vault configured never loads the AWS SDK's code.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // Smaller source text is less to read and to keep: V8 holds a script's source for lazy compilation.
  // BUNDLE_NO_MINIFY=1 keeps names readable in a CPU profile (docs/benchmarks.md); what ships is minified.
  minify: process.env['BUNDLE_NO_MINIFY'] !== '1',
  chunkNames: 'chunk-[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies call require() for Node's built-ins; an ES module has no require of its own.
  banner: { js: "import { createRequire as __saCreateRequire } from 'node:module'; const require = __saCreateRequire(import.meta.url);" },
};

/**
 * Bundle `entryPoints` (name → source) into `outdir`. Chunk names carry a content hash, so chunks of an earlier
 * build are removed afterwards (not before: a process started from the previous main.js may still be loading its
 * chunks while this build runs).
 */
export async function bundle(entryPoints: Record<string, string>, outdir: string): Promise<Metafile> {
  // Metafile paths are relative to absWorkingDir: the repository, wherever this runs from.
  const { metafile } = await build({ ...bundleOptions, entryPoints, outdir, metafile: true, absWorkingDir: root });
  const fresh = new Set(Object.keys(metafile.outputs).map((file) => resolve(root, file)));
  for (const name of await readdir(outdir)) {
    if (/^chunk-.*\.js$/.test(name) && !fresh.has(resolve(outdir, name))) await rm(join(outdir, name));
  }
  return metafile;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = join(root, 'dist/agent');
  const metafile = await bundle({ main: join(root, 'agent/main.ts'), ...workerEntry }, outdir);
  // Which source went into which file: test/ship/bundle.test.ts reads it to check what a run loads.
  await writeFile(join(root, 'dist/bundle-meta.json'), JSON.stringify(metafile));
}
