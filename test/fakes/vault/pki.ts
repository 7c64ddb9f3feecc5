// The PKI secrets engine (Vault's builtin/logical/pki, path_issue_sign.go and cert_util.go): `<mount>/issue/<role>`
// makes a key pair and a real certificate signed by the engine's CA, with NotAfter = clock + ttl, the role's
// name rules and TTL cap (with Vault's warning), and no lease unless the role says generate_lease.
import { generateKeyPair, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type { Clock } from '../../../agent/util/clock.js';
import { SYSTEM_TTL_MS } from './database.js';
import { goDuration, parseSeconds } from './durations.js';
import type { LeaseTable } from './leases.js';
import type { TokenEntry } from './tokens.js';
import type { VaultReply, VaultRequest } from './wire.js';
import { fail, ok } from './wire.js';
import { certificate, certificatePem, commonNameDn, publicOf } from './x509.js';

const generate = promisify(generateKeyPair);

/** A role, as `pki/roles/<name>` configures it; TTLs in seconds, defaults as Vault's. */
export interface PkiRoleSpec {
  /** Default TTL of a certificate; 0 = the mount's default (768h). */
  readonly ttl?: number;
  /** Longest TTL; 0 = the mount's maximum (768h). A longer request is capped with a warning. */
  readonly maxTtl?: number;
  readonly allowedDomains?: readonly string[];
  /** Names below an allowed domain (and `*.domain`). Default false. */
  readonly allowSubdomains?: boolean;
  /** The allowed domain itself. Default false, as in Vault. */
  readonly allowBareDomains?: boolean;
  /** `allowed_domains` entries are globs (`*.example.com`, `db-*.internal`). Default false. */
  readonly allowGlobDomains?: boolean;
  readonly allowAnyName?: boolean;
  /** `localhost` and `localdomain`. Default true. */
  readonly allowLocalhost?: boolean;
  /** IP subject alternative names. Default true. */
  readonly allowIpSans?: boolean;
  /** Attach a (non-renewable) lease to every certificate. Default false: lease_id "" and lease_duration 0. */
  readonly generateLease?: boolean;
  /** Key of the issued certificates: "rsa" (default, 2048 bits, generated off the event loop) or "ec" (P-256). */
  readonly keyType?: 'rsa' | 'ec';
  readonly keyBits?: number;
}

/** One certificate the engine issued, for assertions. */
export interface IssuedCertificate {
  readonly serialNumber: string;
  readonly commonName: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly certificate: string;
  readonly privateKey: string;
}

// Why: Go's %s of a []string, as Vault's IP SAN error prints it.
const goList = (items: readonly string[]): string => `[${items.join(' ')}]`;

/** A comma-separated string or a list parameter, trimmed, empties dropped (TypeCommaStringSlice). */
function list(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : [];
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

const HOSTNAME = /^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** A glob with `*` (any run of characters) as a regular expression. */
const glob = (pattern: string): RegExp => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

export class PkiEngine {
  readonly type = 'pki';
  /** The CA certificate (PEM), self-signed; trust it to verify issued certificates. */
  readonly ca: string;
  readonly issued: IssuedCertificate[] = [];
  readonly #caKey: KeyObject;
  readonly #caName: Buffer;
  readonly #roles = new Map<string, PkiRoleSpec>();
  readonly #clock: Clock;
  readonly #leases: LeaseTable;

  constructor(clock: Clock, leases: LeaseTable, mount: string) {
    this.#clock = clock;
    this.#leases = leases;
    // Why: an EC CA is generated in about a millisecond; the CA's key type does not change what clients see
    // of the leaf (its key type follows the role).
    this.#caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    this.#caName = commonNameDn(`vault-emulator ${mount} root CA`);
    const now = clock.now();
    const der = certificate({ serial: this.#serial(), subject: this.#caName, issuer: this.#caName, notBefore: now - 3_600_000, notAfter: now + 10 * 365 * 86_400_000, publicKey: publicOf(this.#caKey), signingKey: this.#caKey, ca: true });
    this.ca = certificatePem(der);
  }

  /** Create or replace a role. */
  setRole(name: string, spec: PkiRoleSpec = {}): void {
    this.#roles.set(name, spec);
  }

  /** Serve a request whose path is relative to the mount (`issue/api`); `mount` is the mount's path. */
  async handle(request: VaultRequest, rest: string, mount: string, token: TokenEntry): Promise<VaultReply> {
    const issue = /^issue\/([^/]+)$/.exec(rest);
    if (!issue) return fail(404, `no handler for route "${request.path}". route entry not found.`);
    if (request.method !== 'PUT' && request.method !== 'POST') return fail(405, 'unsupported operation');
    const name = issue[1] ?? '';
    const role = this.#roles.get(name);
    if (!role) return fail(400, `unknown role: ${name}`);
    const body = request.body ?? {};
    const format = typeof body['format'] === 'string' && body['format'] !== '' ? body['format'] : 'pem';
    if (!['pem', 'der', 'pem_bundle'].includes(format)) return fail(400, 'the "format" path parameter must be "pem", "der", or "pem_bundle"');
    const cn = typeof body['common_name'] === 'string' ? body['common_name'] : '';
    if (cn === '') return fail(400, 'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false');
    const names = this.#names(role, cn, list(body['alt_names']), list(body['ip_sans']));
    if (typeof names === 'string') return fail(400, names);
    const requested = body['ttl'] === undefined || body['ttl'] === '' ? 0 : parseSeconds(body['ttl']);
    if (requested === undefined) return fail(400, `error converting input ${String(body['ttl'])} for field "ttl"`);
    const maxTtlMs = role.maxTtl ? role.maxTtl * 1000 : SYSTEM_TTL_MS;
    let ttlMs = requested > 0 ? requested * 1000 : role.ttl ? role.ttl * 1000 : SYSTEM_TTL_MS;
    const warnings: string[] = [];
    if (ttlMs > maxTtlMs) {
      warnings.push(`TTL "${goDuration(ttlMs)}" is longer than permitted maxTTL "${goDuration(maxTtlMs)}", so maxTTL is being used`);
      ttlMs = maxTtlMs;
    }
    const keyType = role.keyType ?? 'rsa';
    const { privateKey } = keyType === 'ec'
      ? await generate('ec', { namedCurve: (role.keyBits ?? 256) === 384 ? 'P-384' : 'P-256' })
      : await generate('rsa', { modulusLength: role.keyBits ?? 2048 });
    // Why: NotAfter is clock + ttl; DER keeps whole seconds, so `expiration` is its Unix second.
    const now = this.#clock.now();
    const notAfter = Math.floor((now + ttlMs) / 1000) * 1000;
    const notBefore = Math.floor((now - 30_000) / 1000) * 1000;
    const serial = this.#serial();
    const der = certificate({ serial, subject: commonNameDn(cn), issuer: this.#caName, notBefore, notAfter, publicKey: publicOf(privateKey), signingKey: this.#caKey, issuerKey: publicOf(this.#caKey), ca: false, altNames: names });
    const serialNumber = [...serial].map((b) => b.toString(16).padStart(2, '0')).join(':');
    const pkcs8 = body['private_key_format'] === 'pkcs8';
    const keyPem = (privateKey.export({ type: pkcs8 ? 'pkcs8' : keyType === 'ec' ? 'sec1' : 'pkcs1', format: 'pem' }) as string).trimEnd();
    const certPem = certificatePem(der);
    this.issued.push({ serialNumber, commonName: cn, notBefore, notAfter, certificate: certPem, privateKey: keyPem });
    const keyDer = privateKey.export({ type: pkcs8 ? 'pkcs8' : keyType === 'ec' ? 'sec1' : 'pkcs1', format: 'der' });
    const caDer = Buffer.from(this.ca.replace(/-----[A-Z ]+-----|\n/g, ''), 'base64');
    const data = format === 'der'
      ? { ca_chain: [caDer.toString('base64')], certificate: der.toString('base64'), issuing_ca: caDer.toString('base64'), private_key: keyDer.toString('base64') }
      : { ca_chain: [this.ca], certificate: format === 'pem_bundle' ? [keyPem, certPem, this.ca].join('\n') : certPem, issuing_ca: this.ca, private_key: keyPem };
    const response = { ...data, expiration: notAfter / 1000, private_key_type: keyType, serial_number: serialNumber };
    const leaseFields = role.generateLease
      ? this.#lease(request, mount, name, token, notAfter - now, serialNumber)
      : {};
    return ok({ ...leaseFields, data: response, warnings: warnings.length > 0 ? warnings : null, mount_type: this.type });
  }

  /** Register the certificate's lease (renewable: false; TTL to NotAfter). */
  #lease(request: VaultRequest, mount: string, role: string, token: TokenEntry, ttlMs: number, serial: string): { lease_id: string; lease_duration: number } {
    const lease = this.#leases.register({ path: `${mount}/issue/${role}`, namespace: request.namespace, token: token.id, mountType: this.type, ttlMs, maxTtlMs: ttlMs, renewTtlMs: ttlMs, renewable: false, serial });
    return { lease_id: lease.id, lease_duration: Math.trunc(ttlMs / 1000) };
  }

  // Why: cert_util.go checks the CN, then DNS SANs, then e-mail SANs, then IP SANs, each with its own message.
  /** The certificate's SANs (CN first), or the 400 message of the first name the role refuses. */
  #names(role: PkiRoleSpec, cn: string, altNames: readonly string[], ipSans: readonly string[]): string[] | string {
    if (!this.#allowed(role, cn)) return `common name ${cn} not allowed by this role`;
    const dns = altNames.filter((n) => !n.includes('@'));
    const emails = altNames.filter((n) => n.includes('@'));
    const badDns = dns.find((n) => !this.#allowed(role, n));
    if (badDns !== undefined) return `subject alternate name ${badDns} not allowed by this role`;
    const badEmail = emails.find((n) => !this.#allowed(role, n));
    if (badEmail !== undefined) return `email address ${badEmail} not allowed by this role`;
    if (ipSans.length > 0 && role.allowIpSans === false) return `IP Subject Alternative Names are not allowed in this role, but was provided ${goList(ipSans)}`;
    const badIp = ipSans.find((ip) => isIP(ip) === 0);
    if (badIp !== undefined) return `the value "${badIp}" is not a valid IP address`;
    return [...new Set([cn, ...dns, ...emails, ...ipSans])];
  }

  // Why: issuing.ValidateNames — any name, localhost, then each allowed domain: bare (allow_bare_domains), below
  // it or its wildcard (allow_subdomains), or a glob (allow_glob_domains); e-mails are checked by their domain.
  #allowed(role: PkiRoleSpec, name: string): boolean {
    if (role.allowAnyName) return true;
    const host = name.includes('@') ? name.slice(name.indexOf('@') + 1) : name;
    if (!HOSTNAME.test(host)) return false;
    if ((role.allowLocalhost ?? true) && (host === 'localhost' || host === 'localdomain')) return true;
    const wildcard = host.startsWith('*.');
    const bare = wildcard ? host.slice(2) : host;
    for (const domain of role.allowedDomains ?? []) {
      if ((role.allowBareDomains ?? false) && !wildcard && host === domain) return true;
      if ((role.allowSubdomains ?? false) && (bare.endsWith(`.${domain}`) || (wildcard && bare === domain))) return true;
      if ((role.allowGlobDomains ?? false) && domain.includes('*') && glob(domain).test(host)) return true;
    }
    return false;
  }

  // Why: certutil.GenerateSerialNumber draws below 2^159 — 20 bytes with the top bit clear.
  #serial(): Buffer {
    const bytes = randomBytes(20);
    bytes[0] = ((bytes[0] ?? 0) & 0x7f) || 0x01;
    return bytes;
  }
}
