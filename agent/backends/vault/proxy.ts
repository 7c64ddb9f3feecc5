// Loopback Vault addresses must never go through HTTP(S)_PROXY. node-vault 0.12 speaks through axios,
// which reads HTTP_PROXY/HTTPS_PROXY/ALL_PROXY (proxy-from-env) and NO_PROXY at every request, and
// node-vault drops axios' `proxy: false`. The one lever left is NO_PROXY, so a loopback host is added
// to it — what Go's net/http (and so the Vault CLI and Vault Agent) does for loopback on its own.

/** The host as NO_PROXY spells it (IPv6 in brackets, as proxy-from-env compares), when it is loopback. */
export function loopbackHost(address: string): string | undefined {
  let host: string;
  try {
    host = new URL(address).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return host;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return host;
  if (host === '[::1]') return host;
  return undefined;
}

/** Whether any proxy variable axios honours is set (either case). */
function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return ['http_proxy', 'https_proxy', 'all_proxy'].some((name) => (env[name] ?? env[name.toUpperCase()] ?? '') !== '');
}

// Why: proxy-from-env and axios both read `no_proxy || NO_PROXY`, so the variable that is read is the one amended.
/**
 * Make `address` bypass proxies when it is loopback and a proxy is configured; returns the variable
 * changed (for a log line), or undefined when nothing needed changing.
 */
export function bypassProxyForLoopback(address: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = loopbackHost(address);
  if (host === undefined || !proxyConfigured(env)) return undefined;
  const name = (env['no_proxy'] ?? '') !== '' ? 'no_proxy' : 'NO_PROXY';
  const current = env[name] ?? '';
  const entries = current.split(/[\s,]+/).filter((entry) => entry !== '');
  if (entries.includes(host) || entries.includes('*')) return undefined;
  env[name] = [...entries, host].join(',');
  return name;
}
