// A pass-through HTTP proxy in front of an emulator that runs a hook before forwarding chosen requests: the
// "second writer" of a check-and-set race, timed exactly between a command's read and its write. Requests
// are forwarded byte for byte with their own Host header, so AWS SigV4 signatures still verify.
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HookProxy {
  /** `http://127.0.0.1:<port>`: use as VAULT_ADDR or AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly address: string;
  /** Every request that went through, in order. */
  readonly seen: ProxiedRequest[];
  close(): Promise<void>;
}

/** Forward everything to `target`; `hook` runs (and is awaited) before each request is forwarded. */
export async function startHookProxy(target: string, hook: (req: ProxiedRequest) => void | Promise<void>): Promise<HookProxy> {
  const upstream = new URL(target);
  const seen: ProxiedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const proxied = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(proxied);
      void Promise.resolve().then(() => hook(proxied)).then(() => {
        const forward = request({ host: upstream.hostname, port: upstream.port, method: proxied.method, path: proxied.url, headers: proxied.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.on('error', () => res.destroy());
        forward.end(proxied.body);
      }, () => res.destroy());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    seen,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
