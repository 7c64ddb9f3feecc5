// Where the time goes: a V8 CPU profile (.cpuprofile from `node --cpu-prof`) summarised by sample. A sample
// whose stack passes through Node's module loader counts as module loading (compiling and evaluating the
// import graph); the rest is attributed to its own frame: a package, a folder of the agent, GC, idle.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled wall time in ms (idle included). */
  readonly totalMs: number;
  /** Category → ms, largest first. */
  readonly categories: Array<[string, number]>;
  /** Self time by function, largest first (top 15). */
  readonly functions: Array<[string, number]>;
}

function packageOf(url: string): string | undefined {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
}

function selfCategory(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(idle)') return 'idle (waiting for I/O or timers)';
    if (functionName === '(garbage collector)') return 'garbage collection';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native: ${functionName}`;
  }
  const pkg = packageOf(url);
  if (pkg !== undefined) return `package ${pkg}`;
  // The bin is a minified bundle (scripts/bundle.ts): its chunks mix the agent's code and its dependencies'.
  if (/\/dist\/agent\/(?:chunk-.*|main|prepare-worker)\.js$/.test(url)) return 'bundle (agent and dependencies, minified)';
  const agent = /\/(?:dist\/)?agent\/(.+)$/.exec(url)?.[1];
  if (agent !== undefined) return `agent ${agent.includes('/') ? `${agent.slice(0, agent.indexOf('/'))}/` : agent}`;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

export function summarizeProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const loading = new Map<number, boolean>();
  const isLoading = (id: number): boolean => {
    const known = loading.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const here = node !== undefined && /node:internal\/modules\//.test(node.callFrame.url);
    const up = parent.get(id);
    const result = here || (up !== undefined && isLoading(up));
    loading.set(id, result);
    return result;
  };
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    total += us;
    const node = byId.get(id);
    if (!node) return;
    const frame = node.callFrame;
    const special = frame.url === '' && ['(idle)', '(garbage collector)', '(program)'].includes(frame.functionName);
    const category = !special && isLoading(id) ? 'module loading (compile + evaluate the import graph)' : selfCategory(frame);
    categories.set(category, (categories.get(category) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  });
  const sorted = (map: Map<string, number>): Array<[string, number]> => [...map].map(([key, us]): [string, number] => [key, us / 1000]).sort((a, b) => b[1] - a[1]);
  return { totalMs: total / 1000, categories: sorted(categories), functions: sorted(functions).slice(0, 15) };
}
