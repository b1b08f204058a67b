// OpenSSH known_hosts: look a host key up (plain, wildcard and hashed
// entries), and the line to append for accept-new. Pure except addKnownHost.
import { createHash, createHmac } from 'node:crypto';
import { closeSync, fchmodSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
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

function globRegExp(pattern: string): RegExp {
  // Only * and ? are special; the brackets of "[host]:port" are literal.
  return new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
    'i',
  );
}

interface Line {
  entry: KnownEntry;
  revoked: boolean;
  /** Whether the hosts field names this id; absent for lines found through the name index. */
  matches?: (id: string) => boolean;
}

/** One known_hosts text, parsed once: plain names in a map, the rest (hashed, wildcards, negations) scanned. */
interface Index {
  byName: Map<string, Line[]>;
  scanned: Line[];
  found: Map<string, { entries: KnownEntry[]; revoked: KnownEntry[] }>;
}

function hashedMatcher(field: string): (id: string) => boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return () => false;
  const key = Buffer.from(salt, 'base64');
  return (id) => createHmac('sha1', key).update(id).digest('base64') === hash;
}

function patternMatcher(pats: string[]): (id: string) => boolean {
  const compiled = pats.map((p) => (p.startsWith('!') ? { not: true, re: globRegExp(p.slice(1)) } : { not: false, re: globRegExp(p) }));
  return (id) => {
    let matched = false;
    for (const { not, re } of compiled) {
      if (not) {
        if (re.test(id)) return false;
      } else if (re.test(id)) matched = true;
    }
    return matched;
  };
}

// Keyed by file and text: at thousands of hosts, each host looked the whole file up twice per connection.
const indexes = new Map<string, Map<string, Index>>();

function indexOf(text: string, file: string): Index {
  let perFile = indexes.get(file);
  if (!perFile) {
    perFile = new Map();
    indexes.set(file, perFile);
  }
  let ix = perFile.get(text);
  if (ix) return ix;
  ix = { byName: new Map(), scanned: [], found: new Map() };
  // One text per file is current; an older one (the file changed) is not looked up again.
  perFile.clear();
  perFile.set(text, ix);
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let marker: string | undefined;
    if (f[0]?.startsWith('@')) marker = f.shift();
    const [hosts, keyType, key] = f;
    if (!hosts || !keyType || !key) return;
    if (marker === '@cert-authority') return; // wd does not do host certificates
    const l: Line = { entry: { file, line: i + 1, keyType, key }, revoked: marker === '@revoked' };
    if (hosts.startsWith('|1|')) l.matches = hashedMatcher(hosts);
    else {
      const pats = hosts.split(',');
      if (pats.some((p) => /[*?!]/.test(p))) l.matches = patternMatcher(pats);
      else {
        for (const name of new Set(pats.map((p) => p.toLowerCase()))) {
          const list = ix!.byName.get(name);
          if (list) list.push(l);
          else ix!.byName.set(name, [l]);
        }
        return;
      }
    }
    ix!.scanned.push(l);
  });
  return ix;
}

/** Entries of one known_hosts text that name this host, in file order. */
export function findEntries(text: string, file: string, id: string): { entries: KnownEntry[]; revoked: KnownEntry[] } {
  const ix = indexOf(text, file);
  const cached = ix.found.get(id);
  if (cached) return cached;
  const lines = [...(ix.byName.get(id.toLowerCase()) ?? []), ...ix.scanned.filter((l) => l.matches!(id))].sort((a, b) => a.entry.line - b.entry.line);
  const found = { entries: lines.filter((l) => !l.revoked).map((l) => l.entry), revoked: lines.filter((l) => l.revoked).map((l) => l.entry) };
  ix.found.set(id, found);
  return found;
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

/** What addKnownHost found: the key appended, or the file's verdict when it already named the host. */
export type AddResult = { kind: 'added' } | Exclude<Verdict, { kind: 'unknown' }>;

/**
 * Record a key accepted on first use, once: the file is read again under a
 * lock, so hosts sharing an address (in one run or in parallel runs) add one
 * line, and a host that meanwhile got another key is a mismatch, not a second line.
 */
export function addKnownHost(file: string, id: string, keyType: string, key: string): AddResult {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const unlock = lock(`${file}.wd-lock`);
  try {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const v = verdict([{ file, text: text ?? '' }], id, keyType, key);
    if (v.kind !== 'unknown') return v;
    const fd = openSync(file, 'a', 0o600);
    try {
      // The mode above is filtered by the umask; a new file gets exactly 0600.
      if (text === undefined) fchmodSync(fd, 0o600);
      // A last line without its newline would be glued to ours.
      writeSync(fd, `${text && !text.endsWith('\n') ? '\n' : ''}${id} ${keyType} ${key}\n`);
    } finally {
      closeSync(fd);
    }
    return { kind: 'added' };
  } finally {
    unlock();
  }
}

const LOCK_WAIT_MS = 3000;
const LOCK_STALE_MS = 10000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * An O_EXCL lock file held for the few microseconds of a read and an append.
 * Synchronous: ssh2 asks for the host-key verdict while the handshake waits.
 * A lock that cannot be had (a read-only directory, a holder that hangs) is
 * given up on: a duplicate line is harmless, a key left unrecorded is not.
 */
function lock(path: string): () => void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || Date.now() > deadline) return () => {};
      if (stale(path)) rmSync(path, { force: true });
      else Atomics.wait(pause, 0, 0, 10);
    }
  }
}

/** Left behind by a process that died: its pid is gone, or it is older than any holder could be. */
function stale(path: string): boolean {
  try {
    if (Date.now() - statSync(path).mtimeMs > LOCK_STALE_MS) return true;
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false; // being written right now
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
