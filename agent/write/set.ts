// Sets (docs/templates.md "Sets", docs/design.md "Sets"): templates with the same `set:` are written together, the
// Kubernetes AtomicWriter way. Every set of an output directory lives in one generation `<output>/..<timestamp>/`;
// `<output>/..data` is a symlink to it, swapped by rename(2); each visible top-level name is a symlink
// `<name> -> ..data/<name>`. A reader that resolves `..data` once sees one generation of every set.
//
// A commit builds the next generation from what each set wants: a set whose every template rendered brings its new
// files; a set with a failing template keeps its files of the current generation (hard links, the same inodes), so
// nothing of it changes; a set no template names any more is left out. When the result equals the current
// generation, nothing is written. Otherwise the new generation is written in full (files fsynced, directories
// fsynced), the manifest saved, the output directory checked again, `..data` swapped, the visible links made, the
// output directory fsynced, and the previous generation removed. Everything goes through the pinned output
// directory (agent/write/output.ts), like every other write.
import { mkdir, readdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AgentError } from '../errors.js';
import { agentDir } from '../store/provenance.js';
import { checkOutputDirectory } from './output.js';
import { carryFile, createFile, currentGeneration, entryKind, listFiles, makeParents, openGeneration, removeGeneration, setWriteError, stillNames } from './set-files.js';
import { sameFile, syncDirectory } from './atomic.js';
import type { OpenGeneration, WantedFile } from './set-files.js';
import { readManifest, saveManifest } from './set-manifest.js';
import type { Manifest } from './set-manifest.js';
import { DATA_LINK, generationName, tempLinkName, topOf, visibleTarget } from './set-layout.js';

export type { WantedFile } from './set-files.js';

export interface SetMemberInput {
  /** The template's name (`cert.pem.hbs`). */
  readonly template: string;
  /** The destination relative to the output directory (`tls/cert.pem`). */
  readonly rel: string;
  /** The rendered file; undefined when the template failed or was refused: the set then keeps its current files. */
  readonly file?: WantedFile | undefined;
  /** Keep the current generation's file: a member a partial pass did not render, whose inputs did not change. */
  readonly keep?: boolean;
}

export interface SetInput {
  readonly name: string;
  readonly members: readonly SetMemberInput[];
}

export interface WriteSetsOptions {
  readonly output: string;
  readonly sets: readonly SetInput[];
  /**
   * Does the template still exist (in the templates directory)? A member of the current generation that is not among
   * the inputs but still exists failed to load, so its set is held; one that is gone left the set. Default: gone.
   */
  readonly templateExists?: (template: string) => Promise<boolean>;
  /**
   * Only some templates were rendered (a `vault` call replaced between cycles): a set or member of the current
   * generation that is not among the inputs keeps its files, since nothing it depends on changed.
   */
  readonly partial?: boolean;
  readonly now?: () => Date;
}

export type SetOutcome = { readonly outcome: 'written' | 'unchanged' } | { readonly outcome: 'failed'; readonly error: AgentError };

export interface WriteSetsReport {
  /** Per set name given (and per held set the manifest named). */
  readonly sets: ReadonlyMap<string, SetOutcome>;
  /** The generation `..data` points to after the commit, if any. */
  readonly generation?: string;
  /** A previous generation that could not be removed (the next start removes it). */
  readonly leftover?: string;
}

/** Output directories known to hold no set: a cycle without sets costs nothing there. */
const noSets = new Set<string>();
/** Commits of one output directory never overlap. */
const queues = new Map<string, Promise<unknown>>();
/**
 * Sets whose change is live (`..data` was swapped) but whose commit failed after the swap (a visible link, the
 * fsync): they were reported failed, so their next commit reports `written`, and their notifiers run once.
 */
const unannounced = new Map<string, Set<string>>();

/** Commit the sets of `output` (see the top of this file); never throws for a set's failure (it is in the report). */
export async function writeSets(options: WriteSetsOptions): Promise<WriteSetsReport> {
  const root = resolve(options.output);
  const previous = queues.get(root) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => commit(root, options));
  queues.set(root, run);
  try {
    return await run;
  } finally {
    if (queues.get(root) === run) queues.delete(root);
  }
}

interface Planned {
  readonly set: string;
  readonly want?: WantedFile;
}

function incomplete(set: SetInput, reasons: readonly string[]): AgentError {
  return new AgentError('ERR_SET_INCOMPLETE', `set "${set.name}" not written: ${reasons.join('; ')}; every file of the set keeps its current generation`, { details: { set: set.name } });
}

async function commit(root: string, options: WriteSetsOptions): Promise<WriteSetsReport> {
  if (options.sets.length === 0 && noSets.has(root)) return { sets: new Map() };
  noSets.delete(root);
  const base = await checkOutputDirectory(root);
  const current = await currentGeneration(base);
  // Held open and read through its handle: a name swapped for a link later carries nothing from elsewhere.
  const opened = current === undefined ? undefined : await openGeneration(base, current);
  try {
    // A file one set cannot have (a name too long, an owner refused, no space for it) holds that set, and the
    // generation is written again without its new files: one set never keeps every other set stale.
    const failedFiles = new Map<string, AgentError>();
    for (;;) {
      const { retryWithout, ...report } = await commitFrom(root, options, base, current === undefined || opened === undefined ? undefined : { name: current, dir: opened }, failedFiles);
      if (retryWithout === undefined || failedFiles.has(retryWithout.set)) return { ...report, sets: announce(root, report.sets) };
      failedFiles.set(retryWithout.set, retryWithout.error);
    }
  } finally {
    await opened?.handle.close().catch(() => undefined);
  }
}

/** A set reported failed after its change went live is `written` at its next commit that does not fail. */
function announce(root: string, sets: ReadonlyMap<string, SetOutcome>): ReadonlyMap<string, SetOutcome> {
  const pending = unannounced.get(root);
  if (pending === undefined) return sets;
  const result = new Map(sets);
  for (const [name, outcome] of sets) {
    if (!pending.has(name) || outcome.outcome === 'failed') continue;
    result.set(name, { outcome: 'written' });
    pending.delete(name);
  }
  if (pending.size === 0) unannounced.delete(root);
  return result;
}

/** A file of a set's own could not be written into the new generation: the set to hold, and why. */
class SetFileFailure extends Error {
  constructor(readonly set: string, readonly error: AgentError) {
    super(error.message);
  }
}

async function commitFrom(root: string, options: WriteSetsOptions, base: string, currentGen: { name: string; dir: OpenGeneration } | undefined, failedFiles: ReadonlyMap<string, AgentError>): Promise<WriteSetsReport & { retryWithout?: SetFileFailure }> {
  const outcomes = new Map<string, SetOutcome>();
  const current = currentGen?.name;
  const currentDir = currentGen?.dir.path;
  const manifest = current === undefined ? undefined : await readManifest(base, current);
  const oldFiles = currentDir === undefined ? [] : await listFiles(currentDir);
  const sets = await withHeld(options, manifest);

  // Which sets can be written, which are held (a failing template, a top-level name the link cannot replace).
  const held = new Map<string, AgentError>(failedFiles);
  for (const set of sets) {
    if (held.has(set.name)) continue;
    const failing = set.members.filter((member) => member.file === undefined && member.keep !== true).map((member) => `${member.template} did not render`);
    if (failing.length > 0) {
      held.set(set.name, incomplete(set, failing));
      continue;
    }
    for (const top of new Set(set.members.map((member) => topOf(member.rel)))) {
      // A name that cannot even be inspected (ENAMETOOLONG, EACCES) holds its own set, not every set.
      const kind = await entryKind(join(base, top)).catch((error: unknown) => setWriteError(join(root, top), 'inspect', error));
      if (kind instanceof AgentError) {
        held.set(set.name, kind);
        break;
      }
      if (kind === 'directory' || kind === 'other') {
        held.set(set.name, new AgentError('ERR_DESTINATION', `set "${set.name}" not written: ${join(root, top)} is ${kind === 'directory' ? 'a real directory' : 'not a file'}, and a set's top-level name must be the agent's link into ${DATA_LINK}; move it away (it may hold the files of templates that were not in a set before)`, { details: { set: set.name, path: join(root, top) } }));
        break;
      }
    }
  }

  // The next generation: new files of writable sets, current files of held sets.
  const plan = new Map<string, Planned>();
  for (const set of sets) {
    if (held.has(set.name)) continue;
    for (const member of set.members) if (member.file !== undefined) plan.set(member.rel, { set: set.name, want: member.file });
  }
  const oldSet = new Set(oldFiles);
  for (const set of sets) {
    if (held.has(set.name)) continue;
    for (const member of set.members) if (member.keep === true && oldSet.has(member.rel) && !plan.has(member.rel)) plan.set(member.rel, { set: set.name });
  }
  for (const set of sets) {
    if (!held.has(set.name)) continue;
    const rels = manifest?.sets[set.name] === undefined ? set.members.map((member) => member.rel) : Object.values(manifest.sets[set.name] ?? {});
    for (const rel of rels) if (oldSet.has(rel) && !plan.has(rel)) plan.set(rel, { set: set.name });
  }

  // A partial pass never removes a file: what it did not render, it did not decide about.
  if (options.partial === true) for (const rel of oldFiles) if (!plan.has(rel)) plan.set(rel, { set: '' });

  // What changed: a writable set changed when one of its files differs or it lost one.
  const changed = new Set<string>();
  const unchangedFiles = new Set<string>();
  for (const [rel, planned] of plan) {
    if (planned.want === undefined) continue;
    // Only a regular file the listing found (never through a link planted in the generation) can be carried over.
    if (currentDir !== undefined && oldSet.has(rel) && (await sameFile(join(currentDir, rel), planned.want))) unchangedFiles.add(rel);
    else changed.add(planned.set);
  }
  for (const set of sets) {
    const before = manifest?.sets[set.name];
    if (held.has(set.name) || before === undefined) continue;
    if (Object.values(before).some((rel) => plan.get(rel)?.set !== set.name)) changed.add(set.name);
  }
  const nextManifest = membership(sets, held, manifest);
  const sameList = oldFiles.length === plan.size && oldFiles.every((rel) => plan.has(rel));
  for (const [name, error] of held) outcomes.set(name, { outcome: 'failed', error });

  try {
    if (changed.size === 0 && sameList) {
      if (plan.size === 0) {
        await removeAll(base, currentGen);
        if (options.sets.length === 0) noSets.add(root);
      } else {
        // Nothing to write; a start after a crash between the swap and the links finds them missing.
        await ensureLinks(base, plan);
        // A stale or missing manifest is saved again, or a set held later would lose the files it does not name.
        if (current !== undefined && (manifest === undefined || manifest.stale === true || !sameManifest(manifest, nextManifest))) await saveManifest(base, { ...nextManifest, generation: current });
      }
      for (const set of sets) if (!held.has(set.name)) outcomes.set(set.name, { outcome: 'unchanged' });
      return { sets: outcomes, ...(current === undefined ? {} : { generation: current }) };
    }
    if (plan.size === 0) {
      await removeAll(base, currentGen);
      if (options.sets.length === 0) noSets.add(root);
      return { sets: outcomes };
    }
  } catch (error) {
    const failure = setWriteError(join(root, DATA_LINK), 'update the links of the sets', error);
    for (const set of sets) if (!held.has(set.name)) outcomes.set(set.name, { outcome: 'failed', error: failure });
    return { sets: outcomes };
  }

  const generation = generationName(options.now?.() ?? new Date());
  let next: OpenGeneration | undefined;
  let swapped = false;
  let afterSwap: unknown;
  try {
    await mkdir(join(base, generation), { mode: 0o700 });
    // Opened without following a link, and written through the handle: a name swapped in between is refused.
    next = await openGeneration(base, generation);
    await writeGeneration(root, next, generation, currentDir, plan, unchangedFiles);
    await saveManifest(base, { ...nextManifest, generation, previous: current === undefined || manifest === undefined ? undefined : { generation: current, sets: manifest.sets } });
    await swap(root, base, generation, next);
    swapped = true;
    await ensureLinks(base, plan);
    await syncDirectory(base);
  } catch (error) {
    if (swapped) afterSwap = error;
    else {
      // Not linked: the new generation is removed at once (through its handle); the current one serves on.
      if (next !== undefined) await removeGeneration(base, generation, next).catch(() => undefined);
      await next?.handle.close().catch(() => undefined);
      if (error instanceof SetFileFailure) return { sets: outcomes, retryWithout: error };
      const failure = setWriteError(join(root, generation), 'write the generation of the sets', error);
      for (const set of sets) if (!held.has(set.name)) outcomes.set(set.name, changed.has(set.name) ? { outcome: 'failed', error: failure } : { outcome: 'unchanged' });
      return { sets: outcomes, ...(current === undefined ? {} : { generation: current }) };
    }
  }
  await next?.handle.close().catch(() => undefined);
  if (afterSwap === undefined) {
    for (const set of sets) if (!held.has(set.name)) outcomes.set(set.name, { outcome: changed.has(set.name) ? 'written' : 'unchanged' });
  } else {
    // `..data` names the new generation: its change is live, though a link or the fsync failed. Reported failed now
    // (retried), and `written` at the next commit that succeeds, so the notifiers still run for it.
    const failure = setWriteError(join(root, DATA_LINK), 'update the links of the sets', afterSwap);
    const pending = unannounced.get(root) ?? new Set<string>();
    for (const set of sets) {
      if (held.has(set.name)) continue;
      outcomes.set(set.name, changed.has(set.name) ? { outcome: 'failed', error: failure } : { outcome: 'unchanged' });
      if (changed.has(set.name)) pending.add(set.name);
    }
    if (pending.size > 0) unannounced.set(root, pending);
  }
  // The previous generation is no longer linked, whatever failed after the swap.
  let leftover: string | undefined;
  if (current !== undefined && currentGen !== undefined) {
    await removeGeneration(base, current, currentGen.dir).catch(() => {
      leftover = join(root, current);
    });
  }
  return { sets: outcomes, generation, ...(leftover === undefined ? {} : { leftover }) };
}

/**
 * The inputs plus the members of the current generation that are not among them: kept as they are in a partial pass;
 * otherwise those that still exist failed to load, and hold their set.
 */
async function withHeld(options: WriteSetsOptions, manifest: Manifest | undefined): Promise<SetInput[]> {
  const sets = options.sets.map((set) => ({ name: set.name, members: [...set.members] }));
  if (manifest === undefined || (options.templateExists === undefined && options.partial !== true)) return sets;
  const present = new Set(options.sets.flatMap((set) => set.members.map((member) => member.template)));
  for (const [name, members] of Object.entries(manifest.sets)) {
    for (const [template, rel] of Object.entries(members)) {
      const keep = options.partial === true;
      if (present.has(template) || (!keep && !(await (options.templateExists?.(template) ?? false)))) continue;
      let set = sets.find((candidate) => candidate.name === name);
      if (set === undefined) {
        set = { name, members: [] };
        sets.push(set);
      }
      set.members.push({ template, rel, ...(keep ? { keep } : {}) });
    }
  }
  return sets;
}

/** Write every planned file into the new generation `next` (0700 until complete, then 0755), carrying from `current`. */
async function writeGeneration(root: string, next: OpenGeneration, generation: string, current: string | undefined, plan: ReadonlyMap<string, Planned>, unchanged: ReadonlySet<string>): Promise<void> {
  const dir = next.path;
  const made = new Set<string>();
  for (const rel of [...plan.keys()].sort()) {
    const planned = plan.get(rel);
    if (planned === undefined) continue;
    const shown = join(root, generation, rel);
    try {
      await makeParents(dir, rel, made);
      if (planned.want === undefined || unchanged.has(rel)) {
        if (current === undefined) throw new Error('no current generation to carry from');
        await carryFile(join(current, rel), join(dir, rel));
      } else {
        await createFile(join(dir, rel), planned.want);
      }
    } catch (error) {
      const carried = planned.want === undefined || unchanged.has(rel);
      const failure = setWriteError(shown, carried ? 'link the current file' : 'write', error);
      throw carried ? failure : new SetFileFailure(planned.set, failure);
    }
  }
  for (const parent of [...made].sort((a, b) => b.length - a.length)) await syncDirectory(join(dir, parent));
  await next.handle.chmod(0o755); // fchmod: never a directory a link swapped in names
  await syncDirectory(dir);
}

/** Point `..data` at the new generation (a temp link renamed over it). */
async function swap(root: string, base: string, generation: string, next: OpenGeneration): Promise<void> {
  // Right before the swap, as before every rename: a replaced output directory is refused (agent/write/output.ts).
  if ((await checkOutputDirectory(root)) !== base) throw new AgentError('ERR_OUTPUT_DIR', `output directory ${root} refused: its pin changed during a write`, { details: { path: root } });
  // The name still names the directory written (not one renamed in its place): `..data` must lead to those files.
  if (!(await stillNames(join(base, generation), next))) throw Object.assign(new Error(`${generation} was replaced while it was written`), { code: 'ESTALE' });
  await renameLink(base, generation, DATA_LINK);
}

/** Make `name -> target` atomically: a temp symlink in `.secrets-agent/` renamed over the name (never followed). */
async function renameLink(base: string, target: string, name: string): Promise<void> {
  const temp = join(await agentDir(base), tempLinkName());
  await symlink(target, temp);
  try {
    await rename(temp, join(base, name));
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** Every top-level name of the plan is the agent's link; the agent's links of names no longer planned are removed. */
async function ensureLinks(base: string, plan: ReadonlyMap<string, Planned>): Promise<void> {
  const tops = new Set([...plan.keys()].map(topOf));
  for (const top of tops) {
    if ((await readlink(join(base, top)).catch(() => undefined)) !== visibleTarget(top)) await renameLink(base, visibleTarget(top), top);
  }
  await removeStaleLinks(base, tops);
}

/** The agent's links (exactly `name -> ..data/name`) whose name no set writes now: a template left its set. */
async function removeStaleLinks(base: string, keep: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(base, { withFileTypes: true })) {
    if (!entry.isSymbolicLink() || keep.has(entry.name) || entry.name === DATA_LINK) continue;
    if ((await readlink(join(base, entry.name)).catch(() => undefined)) === visibleTarget(entry.name)) await unlink(join(base, entry.name));
  }
}

/** No set left: the visible links, `..data`, the generation and the manifest go, in the order a reader survives. */
async function removeAll(base: string, current: { name: string; dir: OpenGeneration } | undefined): Promise<void> {
  await removeStaleLinks(base, new Set());
  if ((await entryKind(join(base, DATA_LINK))) === 'link') await unlink(join(base, DATA_LINK));
  if (current !== undefined) await removeGeneration(base, current.name, current.dir);
  await saveManifest(base, undefined);
}

/** The manifest of the next generation: a written set's members now; a held set's members as they were. */
function membership(sets: readonly SetInput[], held: ReadonlyMap<string, AgentError>, manifest: Manifest | undefined): Manifest {
  const entries: Array<[string, Readonly<Record<string, string>>]> = [];
  for (const set of sets) {
    const before = manifest?.sets[set.name];
    if (!held.has(set.name)) entries.push([set.name, Object.fromEntries(set.members.map((member) => [member.template, member.rel]))]);
    else if (before !== undefined) entries.push([set.name, before]);
  }
  return { generation: '', sets: Object.fromEntries(entries) };
}

function sameManifest(a: Manifest, b: Manifest): boolean {
  return JSON.stringify(a.sets) === JSON.stringify(b.sets);
}
