// OpenSSH known_hosts: look a host key up (plain, wildcard and hashed
// entries), and the line to append for accept-new. Pure except addKnownHost.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownEntry {
  file: string;
  line: number;
  keyType: string;
  key: string;
}

export type Verdict =
  | { kind: 'match'; entry: KnownEntry }
  | { kind: 'mismatch'; entries: KnownEntry[] }
  | { kind: 'revoked'; entry: KnownEntry }
  | { kind: 'unknown' };

/** The name known_hosts uses: "host" on port 22, "[host]:port" otherwise. */
export function hostId(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Key type and base64 blob of a host key in SSH wire format. */
export function describeKey(blob: Buffer): { keyType: string; key: string; fingerprint: string } {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const keyType = blob.subarray(4, 4 + len).toString('latin1');
  const fp = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  return { keyType, key: blob.toString('base64'), fingerprint: `SHA256:${fp}` };
}

function globMatch(pattern: string, name: string): boolean {
  // Only * and ? are special; the brackets of "[host]:port" are literal.
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

function hostsFieldMatches(field: string, id: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(id).digest('base64');
    return h === hash;
  }
  let matched = false;
  for (const pat of field.split(',')) {
    if (pat.startsWith('!')) {
      if (globMatch(pat.slice(1), id)) return false;
    } else if (globMatch(pat, id)) matched = true;
  }
  return matched;
}

/** Entries of one known_hosts text that name this host. */
export function findEntries(text: string, file: string, id: string): { entries: KnownEntry[]; revoked: KnownEntry[] } {
  const entries: KnownEntry[] = [];
  const revoked: KnownEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let marker: string | undefined;
    if (f[0]?.startsWith('@')) marker = f.shift();
    const [hosts, keyType, key] = f;
    if (!hosts || !keyType || !key) return;
    if (marker === '@cert-authority') return; // wd does not do host certificates
    if (!hostsFieldMatches(hosts, id)) return;
    const e = { file, line: i + 1, keyType, key };
    (marker === '@revoked' ? revoked : entries).push(e);
  });
  return { entries, revoked };
}

export function verdict(files: Array<{ file: string; text: string }>, id: string, keyType: string, key: string): Verdict {
  const all: KnownEntry[] = [];
  for (const { file, text } of files) {
    const { entries, revoked } = findEntries(text, file, id);
    const r = revoked.find((e) => e.key === key);
    if (r) return { kind: 'revoked', entry: r };
    all.push(...entries);
  }
  const m = all.find((e) => e.keyType === keyType && e.key === key);
  if (m) return { kind: 'match', entry: m };
  return all.length ? { kind: 'mismatch', entries: all } : { kind: 'unknown' };
}

/** Key types this host is known by, to ask the server for one of those first. */
export function knownTypes(files: Array<{ file: string; text: string }>, id: string): string[] {
  return [...new Set(files.flatMap(({ file, text }) => findEntries(text, file, id).entries.map((e) => e.keyType)))];
}

export function addKnownHost(file: string, id: string, keyType: string, key: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${id} ${keyType} ${key}\n`, { mode: 0o600 });
}
