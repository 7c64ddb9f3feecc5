// The emulator's PKI engine through the real node-vault 0.12 client: real certificates signed by the engine's CA,
// parsed by Node's X509Certificate, with NotAfter = the emulator's clock + ttl, a matching private key, Vault's
// name rules and TTL cap, optional leases, and a TLS handshake that trusts only the issuing CA.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import nodeVault from 'node-vault';
import { bypassProxyForLoopback } from '../../../agent/backends/vault/proxy.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { startVaultEmulator } from './index.js';
import type { PkiRoleSpec, VaultEmulator } from './index.js';

const T0 = Date.UTC(2026, 0, 1);
const ROLE: PkiRoleSpec = { allowedDomains: ['dsta.internal'], allowSubdomains: true, maxTtl: 3600 };

async function open(t: ExecutionContext, options: { clock?: FakeClock; role?: PkiRoleSpec } = {}): Promise<VaultEmulator> {
  const vault = await startVaultEmulator(options.clock ? { clock: options.clock } : {});
  t.teardown(() => vault.close());
  vault.addPkiRole('api', options.role ?? ROLE);
  return vault;
}

function client(vault: VaultEmulator, token = vault.token): nodeVault.client {
  bypassProxyForLoopback(vault.address);
  return nodeVault({ endpoint: vault.address, token, namespace: 'dsta', noCustomHTTPVerbs: true });
}

interface Issued {
  lease_id: string;
  renewable: boolean;
  lease_duration: number;
  warnings: string[] | null;
  mount_type: string;
  data: { certificate: string; issuing_ca: string; ca_chain: string[]; private_key: string; private_key_type: string; serial_number: string; expiration: number };
}

async function refusal(t: ExecutionContext, promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  const error = await t.throwsAsync(promise);
  const response = (error as Error & { response: { statusCode: number; body: unknown } }).response;
  return { status: response.statusCode, body: response.body };
}

test('pki/issue/<role> returns a real certificate: NotAfter = clock + ttl, its key, signed by the CA in ca_chain', async (t) => {
  const clock = new FakeClock(T0);
  const vault = await open(t, { clock });
  const issued = await client(vault).write('pki/issue/api', { common_name: 'api.dsta.internal', ttl: '6s', alt_names: 'db.dsta.internal', ip_sans: '127.0.0.1' }) as Issued;
  t.like(issued, { lease_id: '', renewable: false, lease_duration: 0, warnings: null, mount_type: 'pki' });
  t.deepEqual(Object.keys(issued.data), ['ca_chain', 'certificate', 'expiration', 'issuing_ca', 'private_key', 'private_key_type', 'serial_number']);
  const cert = new X509Certificate(issued.data.certificate);
  const ca = new X509Certificate(issued.data.issuing_ca);
  t.is(cert.subject, 'CN=api.dsta.internal');
  t.is(new Date(cert.validTo).getTime(), T0 + 6000);
  t.is(new Date(cert.validFrom).getTime(), T0 - 30_000, 'not_before_duration 30s, as Vault');
  t.is(issued.data.expiration, (T0 + 6000) / 1000);
  t.true(cert.checkPrivateKey(createPrivateKey(issued.data.private_key)));
  t.true(cert.verify(ca.publicKey));
  t.true(cert.checkIssued(ca));
  t.true(ca.ca);
  t.false(cert.ca);
  t.deepEqual(issued.data.ca_chain, [issued.data.issuing_ca]);
  t.is(vault.pki().ca, issued.data.issuing_ca);
  t.is(cert.subjectAltName, 'DNS:api.dsta.internal, DNS:db.dsta.internal, IP Address:127.0.0.1');
  t.is(issued.data.serial_number.replaceAll(':', '').toUpperCase(), cert.serialNumber);
  t.regex(issued.data.serial_number, /^[0-9a-f]{2}(:[0-9a-f]{2}){19}$/);
  t.is(issued.data.private_key_type, 'rsa');
  t.regex(issued.data.private_key, /^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----$/, 'PKCS#1, trimmed as Vault trims it');
  t.regex(issued.data.certificate, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----$/);
  t.deepEqual(vault.pki().issued.map((c) => [c.commonName, c.notAfter - T0, c.serialNumber]), [['api.dsta.internal', 6000, issued.data.serial_number]]);
  t.is(vault.counters.count({ route: 'pki' }), 1);

  await clock.advance(4000);
  const next = await client(vault).write('pki/issue/api', { common_name: 'api.dsta.internal', ttl: 6 }) as Issued;
  t.is(new Date(new X509Certificate(next.data.certificate).validTo).getTime(), T0 + 10_000, 'a re-issue starts from the clock again');
  t.not(next.data.private_key, issued.data.private_key);
  t.not(next.data.serial_number, issued.data.serial_number);
});

test('the role\'s names: subdomains and wildcards pass; the bare domain, other domains and refused SANs are Vault\'s 400s', async (t) => {
  const vault = await open(t, { clock: new FakeClock(T0), role: { ...ROLE, allowIpSans: false, keyType: 'ec' } });
  const vaultClient = client(vault);
  const issue = (body: Record<string, unknown>) => vaultClient.write('pki/issue/api', body);
  t.like(await issue({ common_name: '*.dsta.internal' }) as object, { data: { private_key_type: 'ec' } });
  t.like(await issue({ common_name: 'localhost' }) as object, { mount_type: 'pki' }, 'allow_localhost defaults to true');
  t.deepEqual(await refusal(t, issue({ common_name: 'dsta.internal' })), { status: 400, body: { errors: ['common name dsta.internal not allowed by this role'] } });
  t.deepEqual(await refusal(t, issue({ common_name: 'api.evil.example' })), { status: 400, body: { errors: ['common name api.evil.example not allowed by this role'] } });
  t.deepEqual(await refusal(t, issue({ common_name: 'api.dsta.internal', alt_names: 'ok.dsta.internal,api.evil.example' })), { status: 400, body: { errors: ['subject alternate name api.evil.example not allowed by this role'] } });
  t.deepEqual(await refusal(t, issue({ common_name: 'api.dsta.internal', ip_sans: ['10.0.0.1', '10.0.0.2'] })), { status: 400, body: { errors: ['IP Subject Alternative Names are not allowed in this role, but was provided [10.0.0.1 10.0.0.2]'] } });
  t.deepEqual(await refusal(t, issue({ alt_names: 'api.dsta.internal' })), { status: 400, body: { errors: ['the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false'] } });
  t.deepEqual(await refusal(t, vaultClient.write('pki/issue/nope', { common_name: 'api.dsta.internal' })), { status: 400, body: { errors: ['unknown role: nope'] } });
  t.is(vault.pki().issued.length, 2);
});

test('TTLs: the role\'s ttl by default, a request over max_ttl capped with Vault\'s warning', async (t) => {
  const vault = await open(t, { clock: new FakeClock(T0), role: { ...ROLE, ttl: 60, keyType: 'ec' } });
  const byDefault = await client(vault).write('pki/issue/api', { common_name: 'a.dsta.internal' }) as Issued;
  t.is(byDefault.data.expiration, (T0 + 60_000) / 1000);
  const capped = await client(vault).request({ path: '/pki/issue/api', method: 'PUT', json: { common_name: 'a.dsta.internal', ttl: '72h' } }) as Issued;
  t.deepEqual(capped.warnings, ['TTL "72h0m0s" is longer than permitted maxTTL "1h0m0s", so maxTTL is being used']);
  t.is(new Date(new X509Certificate(capped.data.certificate).validTo).getTime(), T0 + 3_600_000);
});

test('generate_lease: the certificate gets a non-renewable lease to its NotAfter that can be looked up and revoked', async (t) => {
  const clock = new FakeClock(T0);
  const vault = await open(t, { clock, role: { ...ROLE, generateLease: true, keyType: 'ec' } });
  const vaultClient = client(vault);
  const issued = await vaultClient.write('pki/issue/api', { common_name: 'api.dsta.internal', ttl: '6s' }) as Issued;
  t.regex(issued.lease_id, /^pki\/issue\/api\/[0-9A-Za-z]{24}\.[0-9A-Za-z]{5}$/);
  t.like(issued, { renewable: false, lease_duration: 6 });
  t.deepEqual(await refusal(t, vaultClient.write('sys/leases/renew', { lease_id: issued.lease_id })), { status: 400, body: { errors: ['lease is not renewable'] } });
  t.like(await vaultClient.write('sys/leases/lookup', { lease_id: issued.lease_id }) as object, { data: { renewable: false, ttl: 6, expire_time: '2026-01-01T00:00:06Z' } });
  t.true(vault.leases.validAt(issued.data.serial_number, T0 + 5999));
  t.false(vault.leases.validAt(issued.data.serial_number, T0 + 6000));
  await vaultClient.write('sys/leases/revoke', { lease_id: issued.lease_id });
  t.false(vault.leases.isValid(issued.data.serial_number));
});

test('formats: an EC key as SEC1, PKCS#8 on request, DER in base64', async (t) => {
  const vault = await open(t, { role: { ...ROLE, keyType: 'ec' } });
  const vaultClient = client(vault);
  const sec1 = await vaultClient.write('pki/issue/api', { common_name: 'a.dsta.internal' }) as Issued;
  t.regex(sec1.data.private_key, /^-----BEGIN EC PRIVATE KEY-----\n/);
  const pkcs8 = await vaultClient.write('pki/issue/api', { common_name: 'a.dsta.internal', private_key_format: 'pkcs8' }) as Issued;
  t.regex(pkcs8.data.private_key, /^-----BEGIN PRIVATE KEY-----\n/);
  t.true(new X509Certificate(pkcs8.data.certificate).checkPrivateKey(createPrivateKey(pkcs8.data.private_key)));
  const der = await vaultClient.write('pki/issue/api', { common_name: 'a.dsta.internal', format: 'der' }) as Issued;
  const parsed = new X509Certificate(Buffer.from(der.data.certificate, 'base64'));
  t.true(parsed.checkPrivateKey(createPrivateKey({ key: Buffer.from(der.data.private_key, 'base64'), format: 'der', type: 'sec1' })));
  t.true(parsed.verify(new X509Certificate(Buffer.from(der.data.issuing_ca, 'base64')).publicKey));
});

test('a TLS server with the issued certificate and key completes a handshake for a client that trusts only the CA', async (t) => {
  const vault = await open(t);
  const issued = await client(vault).write('pki/issue/api', { common_name: 'api.dsta.internal', ttl: '1h' }) as Issued;
  const server = createServer({ cert: issued.data.certificate, key: issued.data.private_key }, (socket) => { socket.end('hello'); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.close(() => { resolve(); }); }));
  const { port } = server.address() as AddressInfo;
  const handshake = (ca: string) => new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'api.dsta.internal', ca }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.once('data', (chunk: Buffer) => { resolve(`${peer?.subject ?? ''} ${chunk.toString('utf8')}`); socket.end(); });
    });
    socket.once('error', reject);
  });
  t.is(await handshake(issued.data.ca_chain[0] ?? ''), 'CN=api.dsta.internal hello');
  const stranger = await startVaultEmulator();
  t.teardown(() => stranger.close());
  await t.throwsAsync(handshake(stranger.pki().ca), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

test('ACLs: issuing needs update on pki/issue/<role>; a read-only grant or another role is 403', async (t) => {
  const vault = await open(t, { role: { ...ROLE, keyType: 'ec' } });
  vault.addPkiRole('other', { ...ROLE, keyType: 'ec' });
  vault.setPolicy('tls', 'path "pki/issue/api" { capabilities = ["update"] }\npath "pki/issue/other" { capabilities = ["read"] }');
  const limited = client(vault, vault.createToken({ ttl: 60, policies: ['tls'] }));
  t.like(await limited.write('pki/issue/api', { common_name: 'a.dsta.internal' }) as object, { mount_type: 'pki' });
  t.deepEqual(await refusal(t, limited.write('pki/issue/other', { common_name: 'a.dsta.internal' })), { status: 403, body: { errors: ['permission denied'] } });
  t.is(vault.pki().issued.length, 1);
});
