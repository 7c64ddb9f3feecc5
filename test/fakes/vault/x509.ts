// Real X.509 certificates for the emulator's PKI engine, with no dependency: node:crypto makes and exports the
// keys and signs, this file writes the DER of the certificate (RFC 5280) around them. Why not a library: the ones
// that build certificates either need a second package (a Reflect polyfill for @peculiar/x509, type stubs for
// node-forge) or sign in pure JavaScript; one fixed certificate profile is a few dozen lines of DER, and every
// certificate is checked by Node's own parser (X509Certificate) and by real TLS handshakes in the tests.
import { createHash, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

// DER: tag, length, contents (X.690 §8.1).
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
const set = (...parts: Buffer[]): Buffer => tlv(0x31, ...parts);
const octets = (bytes: Buffer): Buffer => tlv(0x04, bytes);
const bool = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const utf8 = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
const NULL = Buffer.from([0x05, 0x00]);

/** A positive INTEGER from big-endian magnitude bytes. */
function integer(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** An OBJECT IDENTIFIER from dotted text. */
function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const groups: number[] = [arc % 128];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v % 128) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A BIT STRING of whole bytes. */
const bits = (bytes: Buffer): Buffer => tlv(0x03, Buffer.from([0]), bytes);

// Why: RFC 5280 §4.1.2.5 — UTCTime through 2049, GeneralizedTime from 2050; whole seconds, as Go writes them.
/** Validity time of an epoch-millisecond instant, truncated to the second. */
function time(ms: number): Buffer {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = Number(iso.slice(0, 4));
  return year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

/** A distinguished name holding only a common name (Vault's leaf subjects carry just the CN by default). */
export const commonNameDn = (cn: string): Buffer => seq(set(seq(oid('2.5.4.3'), utf8(cn))));

const extension = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** KeyUsage bits, numbered as RFC 5280 numbers them (0 = digitalSignature), as a DER BIT STRING. */
function keyUsage(numbers: readonly number[]): Buffer {
  const highest = Math.max(...numbers);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const n of numbers) bytes[Math.floor(n / 8)] = (bytes[Math.floor(n / 8)] ?? 0) | (0x80 >> (n % 8));
  const unused = 7 - (highest % 8);
  return tlv(0x03, Buffer.from([unused]), bytes);
}

/** The subject key identifier of RFC 5280 §4.2.1.2 (1): SHA-1 of the subjectPublicKey bits. */
function keyId(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // The BIT STRING is the last element of the SPKI SEQUENCE; for the key sizes used here its header is short.
  const bitString = lastElement(spki);
  return createHash('sha1').update(bitString.subarray(1)).digest();
}

/** The contents of the last element of a DER SEQUENCE. */
function lastElement(der: Buffer): Buffer {
  let offset = headerLength(der, 0);
  let last: Buffer = Buffer.alloc(0);
  while (offset < der.length) {
    const header = headerLength(der, offset);
    const length = contentLength(der, offset);
    last = der.subarray(offset + header, offset + header + length);
    offset += header + length;
  }
  return last;
}

function headerLength(der: Buffer, offset: number): number {
  const first = der[offset + 1] ?? 0;
  return first < 0x80 ? 2 : 2 + (first & 0x7f);
}

function contentLength(der: Buffer, offset: number): number {
  const first = der[offset + 1] ?? 0;
  if (first < 0x80) return first;
  let n = 0;
  for (let i = 0; i < (first & 0x7f); i++) n = n * 256 + (der[offset + 2 + i] ?? 0);
  return n;
}

/** The AlgorithmIdentifier of a SHA-256 signature by this key (RSA PKCS#1 v1.5, or ECDSA). */
function signatureAlgorithm(key: KeyObject): Buffer {
  return key.asymmetricKeyType === 'rsa' ? seq(oid('1.2.840.113549.1.1.11'), NULL) : seq(oid('1.2.840.10045.4.3.2'));
}

/** A subjectAltName GeneralName: e-mail, DNS name or IP address. */
function generalName(name: string): Buffer {
  if (isIP(name) === 4) return tlv(0x87, Buffer.from(name.split('.').map(Number)));
  if (isIP(name) === 6) return tlv(0x87, ipv6Bytes(name));
  return tlv(name.includes('@') ? 0x81 : 0x82, Buffer.from(name, 'ascii'));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const part = (text: string): number[] => (text === '' ? [] : text.split(':').map((h) => Number.parseInt(h, 16)));
  const left = part(head);
  const right = address.includes('::') ? part(tail) : [];
  const groups = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export interface CertificateSpec {
  readonly serial: Buffer;
  readonly subject: Buffer;
  readonly issuer: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly publicKey: KeyObject;
  readonly signingKey: KeyObject;
  /** The issuer's public key, for the authority key identifier; absent for a self-signed CA. */
  readonly issuerKey?: KeyObject;
  readonly ca: boolean;
  /** DNS names, e-mail addresses and IP addresses for the subjectAltName extension. */
  readonly altNames?: readonly string[];
}

/** A signed certificate (DER) with Vault's extensions: key usages, basic constraints, key ids and SANs. */
export function certificate(spec: CertificateSpec): Buffer {
  const extensions: Buffer[] = spec.ca
    ? [
        extension('2.5.29.15', true, keyUsage([5, 6])), // keyCertSign, cRLSign
        extension('2.5.29.19', true, seq(bool(true))),
        extension('2.5.29.14', false, octets(keyId(spec.publicKey))),
      ]
    : [
        extension('2.5.29.15', true, keyUsage([0, 2, 4])), // digitalSignature, keyEncipherment, keyAgreement
        extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))), // serverAuth, clientAuth
        extension('2.5.29.19', true, seq()),
        extension('2.5.29.14', false, octets(keyId(spec.publicKey))),
        ...(spec.issuerKey ? [extension('2.5.29.35', false, seq(tlv(0x80, keyId(spec.issuerKey))))] : []),
        ...(spec.altNames && spec.altNames.length > 0 ? [extension('2.5.29.17', false, seq(...spec.altNames.map(generalName)))] : []),
      ];
  const algorithm = signatureAlgorithm(spec.signingKey);
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(spec.serial),
    algorithm,
    spec.issuer,
    seq(time(spec.notBefore), time(spec.notAfter)),
    spec.subject,
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  return seq(tbs, algorithm, bits(sign('sha256', tbs, spec.signingKey)));
}

/** PEM text of a DER certificate, without the trailing newline (Vault trims it). */
export function certificatePem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----`;
}

/** The public half of a private key. */
export const publicOf = (privateKey: KeyObject): KeyObject => createPublicKey(privateKey);
