// ACL policies for the emulator: the subset of HCL that docs/vault.md uses (`path "..." { capabilities =
// [...] }`), Vault's glob rules (`*` at the end, `+` for one segment) and the built-in `default` policy.

export type Capability = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list' | 'sudo' | 'deny';

export interface PathRule {
  readonly path: string;
  readonly capabilities: readonly Capability[];
}

const CAPABILITIES = new Set<string>(['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny']);

/** The parts of Vault's built-in `default` policy that a sidecar relies on. */
export const DEFAULT_POLICY: readonly PathRule[] = [
  { path: 'auth/token/lookup-self', capabilities: ['read'] },
  { path: 'auth/token/renew-self', capabilities: ['update'] },
  { path: 'auth/token/revoke-self', capabilities: ['update'] },
  // Vault's default policy lets a token renew and look up a lease it knows the id of (not revoke it).
  { path: 'sys/renew', capabilities: ['update'] },
  { path: 'sys/leases/renew', capabilities: ['update'] },
  { path: 'sys/leases/lookup', capabilities: ['update'] },
];

// Why: tests apply the very HCL that docs/vault.md shows, so the documented policies are the tested ones.
/** Parse `path "p" { capabilities = ["read", ...] }` blocks; comments allowed; anything else throws. */
export function parseHcl(text: string): PathRule[] {
  const withoutComments = text.replace(/#[^\n]*/g, '');
  const block = /path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}/g;
  const rules: PathRule[] = [];
  let rest = withoutComments;
  for (const match of withoutComments.matchAll(block)) {
    const capabilities = [...(match[2] ?? '').matchAll(/"([a-z]+)"/g)].map((c) => c[1] ?? '');
    for (const capability of capabilities) if (!CAPABILITIES.has(capability)) throw new Error(`unknown capability "${capability}"`);
    rules.push({ path: match[1] ?? '', capabilities: capabilities as Capability[] });
    rest = rest.replace(match[0], '');
  }
  if (rest.trim() !== '') throw new Error(`unsupported policy text: ${rest.trim().slice(0, 40)}`);
  return rules;
}

/** Whether one rule's path pattern covers a request path. */
export function matches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith('*');
  const patternParts = (glob ? pattern.slice(0, -1) : pattern).split('/');
  const pathParts = path.split('/');
  for (let i = 0; i < patternParts.length; i++) {
    const want = patternParts[i] ?? '';
    const have = pathParts[i];
    if (have === undefined) return false;
    const last = i === patternParts.length - 1;
    if (want === '+') continue;
    if (last && glob) return have.startsWith(want);
    if (want !== have) return false;
  }
  return glob || pathParts.length === patternParts.length;
}

export class PolicyStore {
  readonly #policies = new Map<string, readonly PathRule[]>([['default', DEFAULT_POLICY]]);

  /** Create or replace a policy from HCL text or rules. */
  set(name: string, policy: string | readonly PathRule[]): void {
    this.#policies.set(name, typeof policy === 'string' ? parseHcl(policy) : policy);
  }

  /** Whether any of `policies` grants `capability` on `path`; `deny` wins, `root` allows all. */
  allows(policies: readonly string[], path: string, capability: Capability | readonly Capability[]): boolean {
    if (policies.includes('root')) return true;
    const wanted = typeof capability === 'string' ? [capability] : capability;
    let granted = false;
    for (const rule of this.#rules(policies)) {
      if (!matches(rule.path, path)) continue;
      if (rule.capabilities.includes('deny')) return false;
      if (wanted.some((c) => rule.capabilities.includes(c))) granted = true;
    }
    return granted;
  }

  /** Whether the policies grant anything at all under a mount (the preflight of sys/internal/ui/mounts). */
  touchesMount(policies: readonly string[], mount: string): boolean {
    if (policies.includes('root')) return true;
    return this.#rules(policies).some((rule) => rule.path.startsWith(`${mount}/`) && !rule.capabilities.includes('deny'));
  }

  /** Every rule of the named policies; unknown names grant nothing. */
  #rules(policies: readonly string[]): PathRule[] {
    return policies.flatMap((name) => this.#policies.get(name) ?? []);
  }
}
