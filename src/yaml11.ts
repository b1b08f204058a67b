// deploy.yml is read the way whiskey_disk read it: Ruby's Psych, YAML 1.1.
// `FORCE_SSL: yes` reached a post script as "true" and `UMASK: 0022` as "18",
// so they must here too. psychScalar() follows Psych's ScalarScanner#tokenize
// (Psych 4) for plain scalars; quoted and block scalars stay strings, as there.
// Values keep their JS type (boolean, number) and rubyString() renders any of
// them as Ruby's to_s did when whiskey_disk interpolated it into a command.
import yaml from 'js-yaml';

/**
 * A YAML float. Kept apart from integers because Ruby prints it differently:
 * `1.0` is "1.0", `1e16` is "1.0e+16", where JS would say "1" and "10000000000000000".
 */
export class RubyFloat {
  constructor(readonly value: number) {}
  // js-yaml turns a mapping key into a string with String() only when the
  // object has its own tag; without one a float key would read "[object Object]".
  get [Symbol.toStringTag](): string {
    return 'Float';
  }
  toString(): string {
    return rubyFloatString(this.value);
  }
}

/** Ruby's Float#to_s: shortest round-trip digits, fixed or d.ddde+XX notation. */
export function rubyFloatString(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const decpt = Number(exp) + 1; // x = 0.<digits> * 10^decpt
  if (decpt > 0 && (decpt <= 15 || decpt < digits.length)) {
    const int = digits.slice(0, decpt).padEnd(decpt, '0');
    return `${sign}${int}.${digits.slice(decpt) || '0'}`;
  }
  if (decpt <= 0 && decpt > -4) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  const e = decpt - 1;
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** What whiskey_disk put into a command for this value (Ruby's to_s). */
export function rubyString(v: unknown): string {
  if (v === null || v === undefined) return '';
  return String(v);
}

// Ruby regexps: ^ and $ match at every line, \s is ASCII, [[:alpha:]] is Unicode.
const STRINGISH = /^[^\d.:-]?[\p{Alphabetic}_ \t\r\n\f\v!@#$%^&*(){}<>|/\\~;=]+/mu;
const TIME = /^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|[ \t\r\n\f\v]+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:[ \t\r\n\f\v]*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$/m;
const DATE = /^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$/m;
const FLOAT = /^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?)$/m;
const INTEGER = /^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$/m;
const SEXAGESIMAL = /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$/m;
const SEXAGESIMAL_FLOAT = /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$/m;

/** A plain (unquoted) scalar as Psych resolved it: null, boolean, number, bigint, RubyFloat or string. */
export function psychScalar(s: string): unknown {
  if (s === '') return null;
  if (STRINGISH.test(s) || s.includes('\n')) {
    if (s.length > 5 || /^[^ytonf~]/im.test(s)) return s;
    if (s === '~' || /^null$/im.test(s)) return null;
    if (/^(yes|true|on)$/im.test(s)) return true;
    if (/^(no|false|off)$/im.test(s)) return false;
    return s;
  }
  if (TIME.test(s)) return rubyTime(s) ?? s;
  if (DATE.test(s)) return rubyDate(s) ?? s;
  if (/^\+?\.inf$/im.test(s)) return new RubyFloat(Infinity);
  if (/^-\.inf$/im.test(s)) return new RubyFloat(-Infinity);
  if (/^\.nan$/im.test(s)) return new RubyFloat(NaN);
  // A Ruby symbol (`:staging`); whiskey_disk only ever used its name.
  if (/^:./m.test(s)) {
    const quoted = /^:(["'])(.*)\1/m.exec(s);
    return quoted ? quoted[2]!.replace(/^:/, '') : s.slice(1);
  }
  // Psych weighs every part as if there were three (so 1:30 is 5400).
  if (SEXAGESIMAL.test(s)) return sexagesimal(s, rubyToI);
  if (SEXAGESIMAL_FLOAT.test(s)) return new RubyFloat(sexagesimal(s, rubyToF));
  if (FLOAT.test(s)) {
    if (/^[-+]?\.$/.test(s)) return s;
    const n = Number(s.replace(/[,_]|\.([Ee]|$)/g, '$1'));
    return Number.isNaN(n) ? s : new RubyFloat(n);
  }
  if (INTEGER.test(s)) return rubyInteger(s.replace(/[,_]/g, ''));
  return s;
}

function sexagesimal(s: string, num: (part: string) => number): number {
  return s.split(':').reduce((sum, part, e) => sum + num(part) * 60 ** Math.abs(e - 2), 0);
}

// String#to_i / #to_f: leading number, single underscores between digits.
function rubyToI(s: string): number {
  const m = /^[-+]?\d+(?:_\d+)*/.exec(s);
  return m ? Number(m[0].replace(/_/g, '')) : 0;
}
function rubyToF(s: string): number {
  const m = /^[-+]?\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?/.exec(s);
  return m ? Number(m[0].replace(/_/g, '')) : 0;
}

// Kernel#Integer: 0b, 0x, and a leading 0 for octal. Exact beyond 2^53, as Ruby's Integer is.
function rubyInteger(s: string): number | bigint {
  const neg = s.startsWith('-');
  let body = s.replace(/^[-+]/, '');
  if (/^0[0-7]+$/.test(body)) body = '0o' + body.slice(1);
  const big = BigInt(body);
  const n = neg ? -big : big;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

// Date.strptime('%Y-%m-%d') then Date#to_s; an impossible date stays a string.
function rubyDate(s: string): string | undefined {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  t.setUTCFullYear(y);
  if (t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return undefined;
  return `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
}

// Psych's parse_time then Time#to_s: "2001-12-14 21:59:43 -0500", "... UTC" for Z,
// and the local zone when the timestamp has none.
function rubyTime(s: string): string | undefined {
  // Ruby's split(/[ tT]/, 2): the second part keeps the rest, zone included.
  const cut = s.search(/[ tT]/);
  const date = s.slice(0, cut);
  const time = s.slice(cut + 1);
  const [yy, mo, dd] = /^(-?\d{4})-(\d{1,2})-(\d{1,2})/.exec(date)!.slice(1).map(Number) as [number, number, number];
  const md = /(\d+:\d+:\d+)(?:\.(\d*))?\s*(Z|[-+]\d+(:\d\d)?)?/.exec(time)!;
  const [hh, mm, ss] = md[1]!.split(':').map(Number) as [number, number, number];
  // Time.utc's own range checks (it rolls 30 February over, but not a 32nd day).
  if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 24 || mm > 59 || ss > 60) return undefined;
  const utc = new Date(Date.UTC(yy, mo - 1, dd, hh, mm, ss));
  utc.setUTCFullYear(yy, mo - 1, dd);
  const wall = (d: Date): string =>
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const zone = (minutes: number): string => `${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}${pad(Math.abs(minutes) % 60)}`;
  if (md[3] === 'Z') return `${wall(utc)} UTC`;
  if (md[3] === undefined) {
    const offset = -utc.getTimezoneOffset();
    return `${wall(new Date(utc.getTime() + offset * 60_000))} ${zone(offset)}`;
  }
  const tz = /^([+-]?\d{1,2}):?(\d{1,2})?$/.exec(md[3])!;
  const h = Number(tz[1]);
  // Ruby's sign rule: minutes follow the sign of the hours (so -0:30 is +0030 there too).
  const offset = h * 60 + (h < 0 ? -1 : 1) * Number(tz[2] ?? 0);
  return `${wall(utc)} ${zone(offset)}`;
}

function scalarType(tag: string, accept: (v: unknown) => boolean): yaml.Type {
  return new yaml.Type(tag, {
    kind: 'scalar',
    resolve: (s: string | null) => s !== null && accept(psychScalar(s)),
    construct: (s: string) => psychScalar(s),
  });
}

/**
 * js-yaml schema with Psych's plain-scalar rules. Each type resolves only
 * what Psych would turn into that kind, so everything else stays a string.
 */
export const PSYCH_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    // `<<: *defaults` merges, which Psych supports too.
    (yaml as unknown as { types: { merge: yaml.Type } }).types.merge,
    scalarType('tag:yaml.org,2002:null', (v) => v === null),
    scalarType('tag:yaml.org,2002:bool', (v) => typeof v === 'boolean'),
    scalarType('tag:yaml.org,2002:int', (v) => typeof v === 'number' || typeof v === 'bigint'),
    scalarType('tag:yaml.org,2002:float', (v) => v instanceof RubyFloat),
    // Symbols, dates and times: Psych made objects of them, whiskey_disk only their to_s.
    new yaml.Type('tag:ruby/scalar', {
      kind: 'scalar',
      resolve: (s: string | null) => s !== null && typeof psychScalar(s) === 'string' && psychScalar(s) !== s,
      construct: (s: string) => psychScalar(s),
    }),
  ],
});

// ---------------------------------------------------------------- positions

/** 1-based, as editors and YAML errors count. */
export interface Position {
  line: number;
  column: number;
}

const keyPositions = new WeakMap<object, Map<string, Position>>();
const ownerPositions = new WeakMap<object, Position>();

/** Where `key` is written in the mapping `obj` came from (undefined for merged or made-up keys). */
export function keyPosition(obj: object, key: string): Position | undefined {
  return keyPositions.get(obj)?.get(key);
}

/** Where the key holding `obj` is written (`staging:` for that environment's map). */
export function ownerPosition(obj: object): Position | undefined {
  return ownerPositions.get(obj);
}

/** The best place to point at for `key` of `obj`: the key, else the key holding obj, else obj's first key. */
export function positionOf(obj: object, key?: string): Position | undefined {
  const own = key === undefined ? undefined : keyPosition(obj, key);
  return own ?? ownerPosition(obj) ?? keyPositions.get(obj)?.values().next().value;
}

/**
 * js-yaml's load with PSYCH_SCHEMA, remembering where each mapping key is
 * written. js-yaml keeps no positions, but its listener sees every node open
 * and close: a scalar that closes right before a ':' is a key of the mapping
 * whose node encloses it.
 */
export function loadYaml(text: string, filename: string): unknown {
  type Frame = { pos: Position; keys: Map<string, Position> };
  const stack: Frame[] = [];
  const data = yaml.load(text, {
    filename,
    schema: PSYCH_SCHEMA,
    listener(event, state) {
      if (event === 'open') {
        stack.push({ pos: { line: state.line + 1, column: state.position - state.lineStart + 1 }, keys: new Map() });
        return;
      }
      const frame = stack.pop()!;
      const result: unknown = state.result;
      if (state.kind === 'mapping' && result !== null && typeof result === 'object') {
        if (!keyPositions.has(result)) keyPositions.set(result, frame.keys);
        return;
      }
      const parent = stack[stack.length - 1];
      if (parent === undefined || state.kind !== 'scalar') return;
      let i = state.position;
      while (state.input[i] === ' ' || state.input[i] === '\t') i++;
      if (state.input[i] !== ':') return;
      const key = result === null ? 'null' : String(result);
      if (!parent.keys.has(key)) parent.keys.set(key, frame.pos);
    },
  });
  recordOwners(data, new Set());
  return data;
}

function recordOwners(v: unknown, seen: Set<object>): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const item of v) recordOwners(item, seen);
    return;
  }
  for (const [k, child] of Object.entries(v)) {
    const at = keyPosition(v, k);
    if (child !== null && typeof child === 'object' && at && !ownerPositions.has(child)) ownerPositions.set(child, at);
    recordOwners(child, seen);
  }
}
