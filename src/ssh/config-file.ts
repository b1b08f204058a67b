// ~/.ssh/config read the way OpenSSH's readconf.c reads it: first value wins,
// Host and Match blocks, Include (relative to ~/.ssh, globs, nested, inside
// blocks), `Match final`/`canonical` with the second pass they imply. Every
// value keeps its file and line, so an error can name them. A Match criterion
// wd cannot evaluate (exec, localnetwork, ...) is an error when it is reached,
// never a guess. No I/O but through ConfigIo.
import { ConfigError } from '../errors.js';

export interface ConfigIo {
  /** The file's text, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  /** Names in a directory, or undefined when it cannot be listed. */
  listDir(dir: string): string[] | undefined;
  /** Owner and mode of a file, or undefined when it cannot be stat'ed. */
  owner(path: string): { uid: number; mode: number } | undefined;
  /** The uid wd runs as (config files must be its own or root's), or undefined to skip that check. */
  uid: number | undefined;
}

export interface ConfigQuery {
  /** The host as written (after user@ and :port are split off): what Host lines match. */
  host: string;
  /** For messages: the host as written in deploy.yml. */
  label: string;
  home: string;
  localUser: string;
  /** What the command line already decided (domain, ssh_options): first wins, and Match sees it. */
  user?: string;
  hostName?: string;
}

export interface ConfigValue {
  args: string[];
  /** The rest of the line after the keyword, unsplit: what ProxyCommand runs. */
  raw: string;
  file: string;
  line: number;
}

export interface ConfigResult {
  /** Keyword (lower-cased) → its first value. */
  values: Map<string, ConfigValue>;
  /** Every IdentityFile, in order. */
  identityFiles: ConfigValue[];
}

const MAX_INCLUDE_DEPTH = 16; // READCONF_MAX_DEPTH
// The two ways to reach a host through another: whichever is set first wins, as in OpenSSH.
const PROXY = new Set(['proxyjump', 'proxycommand']);

interface Line {
  file: string;
  line: number;
  keyword: string;
  args: string[];
  raw: string;
}

class Reader {
  private readonly values = new Map<string, ConfigValue>();
  private readonly identityFiles: ConfigValue[] = [];
  private finalPass = false;
  private wantFinalPass = false;
  private hostForHostLines: string;

  constructor(
    private readonly q: ConfigQuery,
    private readonly io: ConfigIo,
  ) {
    this.hostForHostLines = q.host;
  }

  read(path: string): ConfigResult {
    this.readFile(path, 0, false);
    if (this.wantFinalPass) {
      // OpenSSH's final pass: Host lines now see the host name the first pass settled on.
      this.finalPass = true;
      this.hostForHostLines = this.matchHost();
      this.readFile(path, 0, false);
    }
    return { values: this.values, identityFiles: this.identityFiles };
  }

  private fail(file: string, line: number, msg: string): never {
    throw new ConfigError(`host ${this.q.label}: ${file} line ${line}: ${msg}`);
  }

  private readFile(path: string, depth: number, neverMatch: boolean): void {
    const text = this.io.readFile(path);
    if (text === undefined) return;
    this.checkOwner(path);
    // A file starts active: lines before its first Host/Match apply (unless it is included from an inactive block).
    let active = !neverMatch;
    text.split('\n').forEach((rawLine, i) => {
      const l = parseLine(rawLine, path, i + 1, (msg) => {
        throw new ConfigError(`host ${this.q.label}: cannot parse ssh config ${path} line ${i + 1}: ${msg}`);
      });
      if (!l) return;
      if (l.keyword === 'host') active = !neverMatch && this.hostMatches(l.args);
      else if (l.keyword === 'match') active = this.evalMatch(l, neverMatch) && !neverMatch;
      else if (l.keyword === 'include') {
        if (depth + 1 > MAX_INCLUDE_DEPTH) this.fail(path, l.line, `Include nested more than ${MAX_INCLUDE_DEPTH} deep (an Include loop?).`);
        for (const arg of l.args) {
          for (const f of this.includePaths(arg, l)) this.readFile(f, depth + 1, !active);
        }
      } else if (active) this.set(l);
    });
  }

  // OpenSSH refuses a config file another user could have written (secure_permissions); wd runs what it says.
  private checkOwner(path: string): void {
    const st = this.io.owner(path);
    if (!st || this.io.uid === undefined) return;
    if ((st.uid !== 0 && st.uid !== this.io.uid) || (st.mode & 0o022) !== 0) {
      throw new ConfigError(
        `host ${this.q.label}: bad owner or permissions on ${path}: it must be yours (or root's) and writable by no one else, as ssh requires. ` +
          `Fix: chmod go-w ${path}`,
      );
    }
  }

  private set(l: Line): void {
    const v: ConfigValue = { args: l.args, raw: l.raw, file: l.file, line: l.line };
    if (l.keyword === 'identityfile') this.identityFiles.push(v);
    else if (PROXY.has(l.keyword)) {
      if (!this.values.has('proxyjump') && !this.values.has('proxycommand')) this.values.set(l.keyword, v);
    } else if (!this.values.has(l.keyword)) this.values.set(l.keyword, v);
  }

  private hostMatches(patterns: string[]): boolean {
    let matched = false;
    for (const p of patterns) {
      const negated = p.startsWith('!');
      if (matchPattern(this.hostForHostLines, negated ? p.slice(1) : p)) {
        if (negated) return false;
        matched = true;
      }
    }
    return matched;
  }

  /** The host name `Match host` sees: HostName (with %h) once one is set, else the host as written. */
  private matchHost(): string {
    const hn = this.q.hostName ?? this.values.get('hostname')?.args[0];
    const h = hn === undefined ? this.q.host : expandHostName(hn, this.q.host);
    return this.finalPass ? h.toLowerCase() : h;
  }

  private evalMatch(l: Line, neverMatch: boolean): boolean {
    const { args } = l;
    let result = true;
    let attributes = 0;
    let all = false;
    for (let i = 0; i < args.length; i++) {
      const oattrib = args[i]!;
      if (oattrib.startsWith('#')) break;
      const negate = oattrib.startsWith('!');
      const attrib = (negate ? oattrib.slice(1) : oattrib).toLowerCase();
      const outcome = (r: boolean): void => {
        if (r === negate) result = false;
      };
      if (attrib === 'all') {
        const next = args[i + 1];
        if (attributes > 0 || (next !== undefined && !next.startsWith('#')))
          this.fail(l.file, l.line, `'${oattrib}' cannot be combined with other Match attributes.`);
        outcome(true);
        all = true;
        break;
      }
      attributes++;
      if (attrib === 'canonical' || attrib === 'final') {
        if (attrib === 'final' && !negate) this.wantFinalPass = true;
        outcome(this.finalPass);
        continue;
      }
      const arg = args[++i];
      if (arg === undefined || arg === '' || arg.startsWith('#')) this.fail(l.file, l.line, `Match ${oattrib} needs a value.`);
      switch (attrib) {
        case 'host':
          outcome(matchList(this.matchHost().toLowerCase(), arg!.toLowerCase()));
          break;
        case 'originalhost':
          outcome(matchList(this.q.host.toLowerCase(), arg!.toLowerCase()));
          break;
        case 'user':
          outcome(matchList(this.q.user ?? this.values.get('user')?.args[0] ?? this.q.localUser, arg!));
          break;
        case 'localuser':
          outcome(matchList(this.q.localUser, arg!));
          break;
        case 'tagged':
          outcome(matchList(this.values.get('tag')?.args[0] ?? '', arg!));
          break;
        default:
          // exec, localnetwork and whatever a newer ssh adds: only a failed criterion before it spares us the answer.
          if (result && !neverMatch) {
            this.fail(
              l.file,
              l.line,
              `Match ${oattrib} cannot be evaluated by wd's built-in SSH client, and which settings apply (where and as whom wd connects) depends on it. ` +
                'Fix: give this host its own Host block (in a file for wd: ssh_options -F FILE), or narrow the Match with host/user criteria before it.',
            );
          }
          result = false;
      }
    }
    if (attributes === 0 && !all) this.fail(l.file, l.line, 'Match needs at least one criterion.');
    return result;
  }

  /** An Include argument → the files it names, as OpenSSH's glob(3) with GLOB_TILDE would, sorted. */
  private includePaths(arg: string, l: Line): string[] {
    let p: string;
    if (arg === '~' || arg.startsWith('~/')) p = this.q.home + arg.slice(1);
    else if (arg.startsWith('~')) this.fail(l.file, l.line, `Include ${arg}: ~user paths are not supported by wd; write the path out.`);
    else if (arg.startsWith('/')) p = arg;
    else p = `${this.q.home}/.ssh/${arg}`;
    return glob(p!, this.io);
  }
}

/** One line → keyword and arguments, as readconf.c splits them; undefined for blank and comment lines. */
function parseLine(text: string, file: string, line: number, fail: (msg: string) => never): Line | undefined {
  const s = text.replace(/[ \t\r\n\f]+$/, '');
  const m = /^[ \t]*([^ \t="]+)(.*)$/.exec(s);
  if (!m || m[1]!.startsWith('#')) return undefined;
  const keyword = m[1]!.toLowerCase();
  // "Keyword value", "Keyword=value", "Keyword = value": whitespace and at most one '='.
  const rest = m[2]!.replace(/^[ \t]*=?[ \t]*/, '');
  if (rest === '') fail(`no value after ${m[1]}.`);
  const args = splitArgs(rest);
  if (args === undefined) fail('unterminated quote.');
  return { file, line, keyword, args: args!, raw: rest };
}

/** OpenSSH's argv_split: whitespace-separated, '' and "" quotes, \ escapes a quote, \ or space; # starts a comment. */
export function splitArgs(s: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    if (s[i] === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const c = s[i]!;
      const n = s[i + 1];
      if (c === '\\' && (n === "'" || n === '"' || n === '\\' || (quote === '' && n === ' '))) {
        arg += n;
        i++;
      } else if (quote === '' && (c === ' ' || c === '\t')) break;
      else if (quote === '' && (c === '"' || c === "'")) quote = c;
      else if (quote !== '' && c === quote) quote = '';
      else arg += c;
    }
    if (quote !== '') return undefined;
    out.push(arg);
  }
  return out;
}

/** OpenSSH's match_pattern: * is any run, ? one character, everything else literal. */
export function matchPattern(s: string, pattern: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[\\s\\S]*')
    .replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${re}$`).test(s);
}

/** OpenSSH's match_pattern_list: comma-separated patterns; a matching !pattern wins over everything. */
export function matchList(s: string, list: string): boolean {
  let matched = false;
  for (const p of list.split(',')) {
    if (p.startsWith('!')) {
      if (matchPattern(s, p.slice(1))) return false;
    } else if (matchPattern(s, p)) matched = true;
  }
  return matched;
}

/** HostName knows two tokens: %h (the host as written) and %%. */
export function expandHostName(hostName: string, host: string): string {
  return hostName.replace(/%([%h])/g, (_, t: string) => (t === '%' ? '%' : host));
}

/** fnmatch-style segment match for Include globs: * ? [set], no leading dot unless the pattern has one. */
function segmentMatch(name: string, pattern: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let set = pattern.slice(i + 1, end);
        if (set.startsWith('!')) set = '^' + set.slice(1);
        re += `[${set.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(name);
}

function glob(path: string, io: ConfigIo): string[] {
  let found = [''];
  for (const seg of path.split('/').slice(1)) {
    if (seg === '') continue;
    if (!/[*?[]/.test(seg)) {
      found = found.map((p) => `${p}/${seg}`);
      continue;
    }
    found = found.flatMap((dir) => (io.listDir(dir === '' ? '/' : dir) ?? []).filter((n) => segmentMatch(n, seg)).map((n) => `${dir}/${n}`));
  }
  return found.sort();
}

export function readSshConfig(path: string, q: ConfigQuery, io: ConfigIo): ConfigResult {
  return new Reader(q, io).read(path);
}
