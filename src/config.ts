// config: find the deploy.yml, parse it (YAML 1.1, as whiskey_disk read it),
// pick the environment, validate and normalise it into an EnvConfig. Every
// value is parsed and checked here, once: a dry run rejects what a real run
// would. parseYaml/selectEnv/validateEnv are pure; only loadConfig touches the
// filesystem or the network.
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { ConfigError, didYouMean, printable } from './errors.js';
import { DOMAIN_KEY_NAMES, KEY_NAMES, STRATEGIES, parseBatch, type Batch, type Strategy } from './keys.js';
import { parseSshOptions, splitDomain, type SshArgs } from './ssh/options.js';
import { RubyFloat, loadYaml, positionOf, rubyString } from './yaml11.js';

export type { Batch, Strategy } from './keys.js';

export interface HostEntry {
  /** As written in `domain` ('local' for local). */
  name: string;
  local: boolean;
  roles: string[];
  /** Parsed from name; host is 'local' when local. */
  user?: string;
  host: string;
  port?: number;
  /** The environment's ssh_options then the entry's own, parsed and validated. */
  ssh: SshArgs;
}

export interface ConfigRepo {
  deployTo: string;
  repository: string;
  branch: string;
  target: string;
}

export interface EnvConfig {
  source: string;
  environment: string;
  project?: string;
  hosts: HostEntry[];
  deployTo: string;
  repository: string;
  branch: string;
  postSetupScript?: string;
  postDeployScript?: string;
  rakeEnv: Record<string, string>;
  configRepo?: ConfigRepo;
  /** wd addition: deploy this environment from `wd hook post-receive`. */
  deployOnPush: boolean;
  /** Seconds the whole script may run on one host. */
  timeout?: number;
  /** Seconds to connect to a host. */
  connectTimeout?: number;
  batch?: Batch;
  strategy: Strategy;
  keepReleases: number;
  /** Relative paths inside a release, linked from shared/. */
  sharedPaths: string[];
  beforeSwitchScript?: string;
  /** Things the config asks for that wd does not do, one full sentence each (printed as `wd: warning: ...`). */
  warnings: string[];
}

// ---------------------------------------------------------------- locate/load

export interface Source {
  /** A path or URL, as shown in messages. */
  name: string;
  text: string;
}

/** whiskey_disk's search order, in ./config/ then ./ (or in --path DIR). */
export function candidates(dir: string, project: string | undefined, env: string | undefined): string[] {
  const names: string[] = [];
  for (const base of [join(dir, 'config'), dir]) {
    if (project && env) names.push(join(base, 'deploy', project, `${env}.yml`));
    if (project) names.push(join(base, 'deploy', `${project}.yml`));
    if (env) names.push(join(base, 'deploy', `${env}.yml`));
    if (env) names.push(join(base, `${env}.yml`));
    names.push(join(base, 'deploy.yml'));
  }
  return names;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Bounds on a config fetched from a URL: a config is a few kB, never a stream. */
export interface FetchLimits {
  bytes: number;
  ms: number;
}
export const FETCH_LIMITS: FetchLimits = { bytes: 4 * 1024 * 1024, ms: 10_000 };

export async function loadConfig(
  path: string | undefined,
  cwd: string,
  project: string | undefined,
  env: string | undefined,
  limits: Partial<FetchLimits> = {},
): Promise<Source> {
  if (path !== undefined && /^https?:\/\//i.test(path)) return fetchConfig(path, { ...FETCH_LIMITS, ...limits });
  let file: string | undefined;
  if (path !== undefined) {
    const abs = resolve(cwd, path);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
    } catch {
      throw new ConfigError(`config not found: --path '${path}' does not exist (looked for ${abs}).`);
    }
    if (st.isDirectory()) {
      // In a given directory, look both in it and in its config/ as at the top.
      const list = candidates(abs, project, env);
      file = list.find(isFile);
      if (!file) throw new ConfigError(`no deploy config in directory '${path}'; looked for:\n  ${list.join('\n  ')}\nCreate one with 'wd init'.`);
    } else {
      file = abs;
    }
  } else {
    const list = candidates(cwd, project, env);
    file = list.find(isFile);
    if (!file) {
      throw new ConfigError(`no deploy config found; looked for:\n  ${list.join('\n  ')}\nCreate one with 'wd init', or point at one with --path FILE.`);
    }
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config '${file}': ${(e as Error).message}.`);
  }
  return { name: file, text };
}

const mib = (n: number): string => (n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`);

async function fetchConfig(url: string, limits: FetchLimits): Promise<Source> {
  const fix = 'Check the URL, or use a local file with --path FILE.';
  const ctl = new AbortController();
  let timedOut = false;
  // One deadline for the answer and the whole body: a server that trickles must not hold wd forever.
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, limits.ms);
  try {
    const res = await fetch(url, { signal: ctl.signal, redirect: 'follow' });
    if (!res.ok) {
      throw new ConfigError(`cannot fetch config from ${url}: HTTP ${res.status} ${res.statusText}. ${fix}`);
    }
    const tooBig = (): ConfigError =>
      new ConfigError(`cannot fetch config from ${url}: the response is larger than ${mib(limits.bytes)}, the limit for a config file. ${fix}`);
    if (Number(res.headers.get('content-length') ?? 0) > limits.bytes) {
      ctl.abort();
      throw tooBig();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limits.bytes) {
          ctl.abort();
          throw tooBig();
        }
        chunks.push(value);
      }
    }
    return { name: url, text: Buffer.concat(chunks).toString('utf8') };
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (timedOut) {
      throw new ConfigError(`cannot fetch config from ${url}: no complete response within ${limits.ms / 1000} s, the time limit for fetching a config. ${fix}`);
    }
    const err = e as Error & { cause?: { message?: string } };
    throw new ConfigError(`cannot fetch config from ${url}: ${err.cause?.message ?? err.message}. ${fix}`);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- parse/select

export function parseYaml(source: Source): unknown {
  try {
    return loadYaml(source.text, source.name);
  } catch (e) {
    if (e instanceof yaml.YAMLException) {
      const m = e.mark;
      const where = m ? `${source.name}:${m.line + 1}:${m.column + 1}` : source.name;
      throw new ConfigError(`YAML syntax error in ${where}: ${e.reason}. Fix the line, then run again.`);
    }
    throw e;
  }
}

type Map = Record<string, unknown>;
const isMap = (v: unknown): v is Map => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RubyFloat);
const KNOWN = new Set(KEY_NAMES);
/** A map holding some key only an environment has. */
const hasEnvKey = (v: unknown): boolean => isMap(v) && Object.keys(v).some((k) => KNOWN.has(k));
/** A scalar or a list: only an environment's settings hold those at this level. */
const hasLeaf = (v: Map): boolean => Object.values(v).some((x) => x !== null && x !== undefined && !isMap(x));

/**
 * What a top-level entry of a multi-environment file is, by structure as
 * whiskey_disk's scope filters decide (not by its name: a project may be
 * called `project:` or `env:`). A project's values are all maps (or empty),
 * and one of them holds an environment's keys; anything else is an environment.
 */
function entryKind(v: unknown): 'env' | 'project' {
  if (isMap(v) && !hasLeaf(v) && Object.values(v).some(hasEnvKey)) return 'project';
  return 'env';
}

/**
 * A file may also hold one environment's settings directly: it has a scalar
 * or a list at the top, or only known keys none of which holds an
 * environment or a project.
 */
function isSingleEnv(data: Map): boolean {
  if (hasLeaf(data)) return true;
  const values = Object.values(data);
  return Object.keys(data).every((k) => KNOWN.has(k)) && values.length > 0 && !values.some((v) => hasEnvKey(v) || entryKind(v) === 'project');
}

/** The one classifier: which top-level names are environments and which are projects. */
export function layout(data: Map): { single: true } | { single: false; envs: string[]; projects: string[] } {
  if (isSingleEnv(data)) return { single: true };
  const envs: string[] = [];
  const projects: string[] = [];
  for (const [k, v] of Object.entries(data)) (entryKind(v) === 'project' ? projects : envs).push(k);
  return { single: false, envs, projects };
}

// Names end up in messages, WD_ENVIRONMENT and the default config_target (a path).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
function controlName(s: string): string {
  const c = CONTROL.exec(s)![0];
  return c === '\n'
    ? 'a newline'
    : c === '\r'
      ? 'a carriage return'
      : c === '\0'
        ? 'a NUL byte'
        : c === '\t'
          ? 'a tab'
          : `the control character U+${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
}

function at(source: string, obj: object | undefined, key?: string): string {
  const p = obj === undefined ? undefined : positionOf(obj, key);
  return p ? `${source}:${p.line}:${p.column}` : source;
}

function checkName(kind: 'environment' | 'project', name: string, where: string): void {
  if (CONTROL.test(name)) {
    throw new ConfigError(`${where}: the ${kind} name ${JSON.stringify(name)} contains ${controlName(name)}; ${kind} names must be printable. Rename it.`);
  }
}

/** Pick the environment's raw settings out of a parsed file. */
export function selectEnv(data: unknown, source: string, project: string | undefined, env: string | undefined): { raw: Map; env: string; project?: string } {
  if (env !== undefined) checkName('environment', env, 'on the command line');
  if (project !== undefined) checkName('project', project, 'on the command line');
  if (data === undefined || data === null) throw new ConfigError(`config ${source} is empty. Add an environment, e.g. run 'wd init' to see every key.`);
  if (!isMap(data)) throw new ConfigError(`config ${source}: the top level must be a map of environment names, got ${describe(data)}.`);
  const shape = layout(data);
  // A file like config/deploy/production.yml may hold the settings directly.
  if (shape.single) {
    if (!env)
      throw new ConfigError(
        `no environment given. Usage: wd deploy <env> (config ${source} holds a single environment's settings; name it as the file is used).`,
      );
    return { raw: data, env, ...(project ? { project } : {}) };
  }
  const { envs, projects } = shape;
  const qualified = (): string[] => projects.flatMap((p) => (isMap(data[p]) ? Object.keys(data[p] as Map).map((e) => `${p}:${e}`) : []));
  const pick = (holder: Map, name: string, where: string, proj: string | undefined): { raw: Map; env: string; project?: string } => {
    checkName('environment', name, at(source, holder, name));
    if (proj !== undefined) checkName('project', proj, at(source, data, proj));
    const raw = holder[name];
    if (raw === null || raw === undefined)
      throw new ConfigError(`${at(source, holder, name)}: environment '${name}' in ${where} is empty: it needs at least deploy_to and repository.`);
    if (!isMap(raw)) throw new ConfigError(`${at(source, holder, name)}: environment '${name}' in ${where} must be a map of settings, got ${describe(raw)}.`);
    return { raw, env: name, ...(proj !== undefined ? { project: proj } : {}) };
  };

  if (project !== undefined && projects.includes(project)) {
    const holder = data[project] as Map;
    if (!env)
      throw new ConfigError(`no environment given for project '${project}'. Environments in ${source}: ${Object.keys(holder).map(printable).join(', ')}.`);
    if (!(env in holder)) throw unknownEnv(env, Object.keys(holder), `${source} (project '${project}')`);
    return pick(holder, env, `${source} (project '${project}')`, project);
  }
  if (project !== undefined && projects.length > 0 && envs.length === 0) {
    throw new ConfigError(`unknown project '${project}' in ${source}${didYouMean(project, projects)}. Projects there: ${projects.map(printable).join(', ')}.`);
  }
  if (!env) {
    const all = envs.length ? envs : qualified();
    throw new ConfigError(`no environment given. Usage: wd deploy <env>. Environments in ${source}: ${all.map(printable).join(', ') || '(none)'}.`);
  }
  if (envs.includes(env)) return pick(data, env, source, project);
  if (projects.includes(env)) {
    throw new ConfigError(
      `'${env}' is a project in ${source}, not an environment; name one of its environments: ${qualified()
        .filter((q) => q.startsWith(`${env}:`))
        .map(printable)
        .join(', ')}.`,
    );
  }
  if (projects.length > 0) {
    const having = projects.filter((p) => isMap(data[p]) && env in (data[p] as Map));
    if (having.length === 1) return pick(data[having[0]!] as Map, env, `${source} (project '${having[0]}')`, having[0]!);
    if (having.length > 1)
      throw new ConfigError(`environment '${env}' exists in several projects of ${source} (${having.join(', ')}); choose one with --to=<project>:${env}.`);
  }
  throw unknownEnv(env, envs.length ? envs : qualified(), source);
}

/**
 * Every environment a parsed file defines, as selectEnv finds them (project
 * set for multi-project files). A file holding one environment's settings
 * directly has no names in it: [].
 */
export function listEnvironments(data: unknown): Array<{ project?: string; env: string }> {
  if (!isMap(data)) return [];
  const shape = layout(data);
  if (shape.single) return [];
  const out: Array<{ project?: string; env: string }> = [];
  for (const k of Object.keys(data)) {
    if (shape.projects.includes(k)) for (const e of Object.keys(data[k] as Map)) out.push({ project: k, env: e });
    else out.push({ env: k });
  }
  return out;
}

function unknownEnv(env: string, known: string[], where: string): ConfigError {
  return new ConfigError(
    `unknown environment '${printable(env)}' in ${where}${didYouMean(env, known)}. Environments there: ${known.map(printable).join(', ') || '(none)'}.`,
  );
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (isMap(v)) return 'a map';
  if (v instanceof RubyFloat) return `the number ${v.toString()}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'bigint') return `the number ${v}`;
  return `${typeof v} ${String(v)}`;
}

// ---------------------------------------------------------------- validate

/** Validate and normalise one environment, as whiskey_disk's filters do. */
export function validateEnv(raw: Map, ctx: { source: string; env: string; project?: string }): EnvConfig {
  const label = `environment '${ctx.project ? ctx.project + ':' : ''}${ctx.env}'`;
  const where = (obj: object = raw, key?: string): string => `${at(ctx.source, obj, key)}, ${label}`;
  const fail = (key: string, msg: string, obj: object = raw, posKey = key): never => {
    throw new ConfigError(`${where(obj, posKey)}, key '${key}': ${msg}`);
  };
  for (const key of Object.keys(raw)) {
    if (KNOWN.has(key)) continue;
    if (key === 'roles' || key === 'name') {
      throw new ConfigError(
        `${where(raw, key)}: '${key}' belongs to a host, not to the environment: move it under a domain entry, e.g.\n  domain:\n    - name: deploy@web1.example.com\n      roles: [web, db]`,
      );
    }
    throw new ConfigError(`${where(raw, key)}: unknown key '${printable(key)}'${didYouMean(key, KEY_NAMES)}. Known keys: ${KEY_NAMES.join(', ')}.`);
  }
  const given = (key: string): boolean => raw[key] !== undefined && raw[key] !== null && raw[key] !== '';
  const text = (key: string, v: unknown = raw[key], obj: object = raw): string | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    if (isMap(v) || Array.isArray(v)) return fail(key, `expected a string, got ${describe(v)}.`, obj);
    // Numbers and booleans read as whiskey_disk interpolated them (Ruby's to_s).
    const s = typeof v === 'string' ? v : rubyString(v);
    if (CONTROL.test(s)) fail(key, `${JSON.stringify(s)} contains ${controlName(s)}; it must be one printable line.`, obj);
    return s;
  };
  const required = (key: string, what: string): string => {
    const v = text(key);
    if (v === undefined) throw new ConfigError(`${where(raw)}: missing required key '${key}' (${what}).`);
    return v;
  };
  const path = (key: string, v: string | undefined): string | undefined => {
    if (v !== undefined && /^~[^/]/.test(v)) fail(key, `'${v}': ~user paths are not supported; write the absolute path, or ~/path for the login user's home.`);
    return v;
  };
  const branchOf = (key: string): string => {
    const b = text(key) ?? 'master';
    const p = branchProblem(b);
    if (p) fail(key, `'${b}' is not a valid git branch name: it ${p}.`);
    return b;
  };

  const out: EnvConfig = {
    source: ctx.source,
    environment: ctx.env,
    hosts: [],
    deployTo: path('deploy_to', required('deploy_to', 'the directory of the checkout on each host, e.g. deploy_to: /var/www/app'))!,
    repository: required('repository', 'the git URL each host clones from, e.g. repository: git@github.com:me/app.git'),
    branch: branchOf('branch'),
    rakeEnv: {},
    deployOnPush: false,
    strategy: 'in_place',
    keepReleases: 5,
    sharedPaths: [],
    warnings: [],
  };
  const project = text('project') ?? ctx.project;
  if (project !== undefined) out.project = project;
  const pss = path('post_setup_script', text('post_setup_script'));
  if (pss !== undefined) out.postSetupScript = pss;
  const pds = path('post_deploy_script', text('post_deploy_script'));
  if (pds !== undefined) out.postDeployScript = pds;

  if (given('rake_env') && given('env')) fail('env', "'env' is another name for 'rake_env'; give only one of them.");
  const envKey = given('rake_env') ? 'rake_env' : 'env';
  const vars = raw[envKey];
  if (vars !== undefined && vars !== null && vars !== '') {
    if (!isMap(vars)) fail(envKey, `expected a map of VARIABLE: value, got ${describe(vars)}.`);
    for (const [k, v] of Object.entries(vars as Map)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
        fail(envKey, `${JSON.stringify(k)} is not a valid environment variable name (letters, digits and _, not starting with a digit).`);
      if (isMap(v) || Array.isArray(v)) fail(envKey, `value of ${k} must be a string, number or boolean, got ${describe(v)}.`);
      // Newlines and quotes are carried (the script quotes every value); a NUL cannot be.
      const s = rubyString(v);
      if (s.includes('\0')) fail(envKey, `value of ${k} contains a NUL byte, which no environment variable can hold.`);
      out.rakeEnv[k] = s;
    }
  }

  const dop = raw['deploy_on_push'];
  if (dop !== undefined && dop !== null) {
    if (typeof dop !== 'boolean') fail('deploy_on_push', `expected true or false, got ${describe(dop)}.`);
    out.deployOnPush = dop as boolean;
  }

  const cfgTo = path('deploy_config_to', text('deploy_config_to'));
  const cfgRepo = text('config_repository');
  if (cfgTo !== undefined || cfgRepo !== undefined) {
    if (cfgTo === undefined) fail('deploy_config_to', `config_repository is set, so deploy_config_to (where to check it out on each host) is required.`);
    if (cfgRepo === undefined)
      fail('config_repository', `deploy_config_to is set, so config_repository (the git URL of the configuration repository) is required.`);
    const target = text('config_target') ?? ctx.env;
    if (target.split('/').includes('..')) fail('config_target', `'${target}' must stay inside the configuration repository (no '..').`);
    if (CONTROL.test(target)) fail('config_target', `the default, the environment name, contains ${controlName(target)}; set config_target.`);
    out.configRepo = { deployTo: cfgTo!, repository: cfgRepo!, branch: branchOf('config_branch'), target };
  } else if (given('config_branch') || given('config_target')) {
    fail(given('config_branch') ? 'config_branch' : 'config_target', 'set without config_repository and deploy_config_to; add those or remove this key.');
  }

  const seconds = (key: string): number | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'number' ? v : v instanceof RubyFloat ? v.value : NaN;
    if (!(n > 0) || !Number.isFinite(n)) fail(key, `expected a number of seconds greater than 0, got ${describe(v)}.`);
    return n;
  };
  const timeout = seconds('timeout');
  if (timeout !== undefined) out.timeout = timeout;
  const connectTimeout = seconds('connect_timeout');
  if (connectTimeout !== undefined) out.connectTimeout = connectTimeout;
  const batch = raw['batch'];
  if (batch !== undefined && batch !== null) {
    const parsed = typeof batch === 'number' || typeof batch === 'string' ? parseBatch(String(batch)) : undefined;
    if (!parsed) fail('batch', `expected a number of hosts (1 or more) or a percentage ("25%", up to 100%), got ${describe(batch)}.`);
    out.batch = parsed!;
  }

  const strategy = text('strategy');
  if (strategy !== undefined) {
    if (!(STRATEGIES as readonly string[]).includes(strategy))
      fail('strategy', `'${strategy}' is not a strategy${didYouMean(strategy, STRATEGIES)}; use in_place (the default) or releases.`);
    out.strategy = strategy as Strategy;
  }
  const releasesOnly = (key: string): void => {
    if (out.strategy !== 'releases')
      fail(
        key,
        `applies only to strategy: releases, and this environment uses ${strategy === undefined ? 'in_place (the default)' : 'in_place'}; add strategy: releases or remove ${key}.`,
      );
  };
  if (given('keep_releases')) {
    releasesOnly('keep_releases');
    const k = raw['keep_releases'];
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 2)
      fail('keep_releases', `expected a whole number of releases, 2 or more (the current one and one to roll back to), got ${describe(k)}.`);
    out.keepReleases = k as number;
  }
  if (given('shared_paths')) {
    releasesOnly('shared_paths');
    out.sharedPaths = sharedPaths(raw['shared_paths'], (msg) => fail('shared_paths', msg));
  }
  const bss = path('before_switch_script', text('before_switch_script'));
  if (bss !== undefined) {
    releasesOnly('before_switch_script');
    out.beforeSwitchScript = bss;
  }

  const envSsh = sshOptionList(raw['ssh_options'], (msg) => fail('ssh_options', msg));
  // Each list is checked where it is written, so its errors and warnings name that place once, not once per host.
  if (envSsh.length > 0) parseSshOptions(envSsh, where(raw, 'ssh_options'), out.warnings);
  out.hosts = hostEntries(raw, envSsh, { raw, source: ctx.source, label, where, fail, warnings: out.warnings });
  return out;
}

type Fail = (key: string, msg: string, obj?: object, posKey?: string) => never;

// git check-ref-format's rules, plus no leading '-', so a branch can never be
// read as a git option.
export function branchProblem(b: string): string | undefined {
  if (b.startsWith('-')) return 'must not start with -';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(b)) return 'must not contain spaces, control characters or any of ~ ^ : ? * [ \\';
  if (b.includes('..')) return "must not contain '..'";
  if (b.includes('@{') || b === '@') return "must not contain '@{' or be '@'";
  if (b.startsWith('/') || b.endsWith('/') || b.includes('//')) return 'must not start or end with / or contain //';
  if (b.endsWith('.') || b.endsWith('.lock')) return "must not end with '.' or '.lock'";
  if (b.split('/').some((part) => part.startsWith('.'))) return "no part may start with '.'";
  return undefined;
}

function sharedPaths(v: unknown, bad: (msg: string) => never): string[] {
  const out: string[] = [];
  for (const item of Array.isArray(v) ? v : [v]) {
    if (typeof item !== 'string' || item.trim() === '') bad(`expected a list of relative paths, got ${describe(item)} in it.`);
    const p = (item as string).replace(/\/+$/, '').replace(/^(\.\/)+/, '');
    if (CONTROL.test(p)) bad(`${JSON.stringify(p)} contains ${controlName(p)}; paths must be one printable line.`);
    if (p.startsWith('/') || p.startsWith('~')) bad(`'${p}' must be relative to the release (no leading / or ~).`);
    if (p === '' || p === '.' || p.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      bad(`'${p}' must name a path inside the release: no '.', '..' or empty parts.`);
    }
    if (out.includes(p)) bad(`'${p}' is listed twice.`);
    out.push(p);
  }
  return out;
}

/**
 * ssh_options: a string ("-p 2222 -A") or a list; empties dropped (whiskey_disk).
 * A list item is one argument, as whiskey_disk passed it to ssh ("/my keys/id"
 * stays whole); only a flag item with its value ("-p 2222") is cut in two.
 */
function sshOptionList(v: unknown, bad: (msg: string) => never): string[] {
  if (v === undefined || v === null || v === '') return [];
  const out: string[] = [];
  for (const item of Array.isArray(v) ? v : [v]) {
    if (item === null || item === '') continue;
    if (isMap(item) || Array.isArray(item)) bad(`expected a string or a list of strings, got ${describe(item)}.`);
    const s = rubyString(item).trim();
    if (CONTROL.test(s)) bad(`${JSON.stringify(s)} contains ${controlName(s)}.`);
    if (!Array.isArray(v)) out.push(...s.split(/\s+/).filter((w) => w !== ''));
    else if (/^-[A-Za-z]\s/.test(s)) out.push(s.slice(0, 2), s.slice(2).trim());
    else if (s !== '') out.push(s);
  }
  return out;
}

interface HostCtx {
  raw: Map;
  source: string;
  label: string;
  where: (obj?: object, key?: string) => string;
  fail: Fail;
  warnings: string[];
}

function hostEntries(raw: Map, envSsh: string[], c: HostCtx): HostEntry[] {
  const v = raw['domain'];
  // whiskey_disk: absent, empty, or 'local' entries deploy on this machine.
  const list = v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
  const entries: HostEntry[] = [];
  for (const item of list) {
    if (item === null || item === '' || item === 'local') {
      entries.push(localHost([]));
      continue;
    }
    if (typeof item === 'string') {
      entries.push(remoteHost(item, [], envSsh, raw, c));
      continue;
    }
    if (!isMap(item)) c.fail('domain', `each entry must be a host name or a map {name, roles, ssh_options}, got ${describe(item)}.`);
    const m = item as Map;
    for (const k of Object.keys(m)) {
      if (!DOMAIN_KEY_NAMES.includes(k))
        c.fail('domain', `unknown key '${printable(k)}' in a domain entry${didYouMean(k, DOMAIN_KEY_NAMES)}. Known: ${DOMAIN_KEY_NAMES.join(', ')}.`, m, k);
    }
    const rawName = m['name'];
    if (rawName !== undefined && rawName !== null && typeof rawName !== 'string')
      c.fail('domain', `'name' must be a string like deploy@web1, got ${describe(rawName)}.`, m, 'name');
    const roles = roleList(m['roles'], (msg) => c.fail('domain', msg, m, 'roles'));
    const own = sshOptionList(m['ssh_options'], (msg) => c.fail('domain', `ssh_options: ${msg}`, m, 'ssh_options'));
    if (typeof rawName !== 'string' || rawName === '' || rawName === 'local') {
      entries.push(localHost(roles));
      continue;
    }
    entries.push(remoteHost(rawName, roles, envSsh, m, c, own));
  }
  if (entries.length === 0) entries.push(localHost([]));
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) c.fail('domain', `duplicate host '${e.name}'; list each host once (give it several roles instead).`);
    seen.add(e.name);
  }
  return entries;
}

function localHost(roles: string[]): HostEntry {
  return { name: 'local', local: true, roles, host: 'local', ssh: { identityFiles: [], options: {} } };
}

function remoteHost(written: string, roles: string[], envSsh: string[], holder: Map, c: HostCtx, own: string[] = []): HostEntry {
  const name = written.trim();
  const bad = (why: string): never => c.fail('domain', `${JSON.stringify(written)} is not a host: ${why}`, holder, holder === c.raw ? 'domain' : 'name');
  if (CONTROL.test(name)) bad(`it contains ${controlName(name)}.`);
  if (!/^([^@\s]+@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?$/.test(name) || name.startsWith('-')) {
    bad('expected host, user@host or user@host:port.');
  }
  const parts = splitDomain(name);
  if (parts.user?.startsWith('-')) bad("the user must not start with '-'.");
  if (parts.host.startsWith('-')) bad("the host must not start with '-'.");
  if (parts.port !== undefined && (parts.port < 1 || parts.port > 65535)) bad(`port ${parts.port} is not between 1 and 65535.`);
  const at = `${c.where(holder, own.length > 0 ? 'ssh_options' : holder === c.raw ? 'domain' : 'name')}, host ${name}`;
  if (own.length > 0) parseSshOptions(own, at, c.warnings);
  // Both lists were checked alone; together, the environment's come first and the first value wins, as in ssh.
  const ssh = parseSshOptions([...envSsh, ...own], at);
  return { name, local: false, roles, ...parts, ssh };
}

function roleList(v: unknown, bad: (msg: string) => never): string[] {
  if (v === undefined || v === null || v === '') return [];
  const items = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const r of items) {
    if (r === null || r === '') continue; // whiskey_disk drops empty roles
    if (typeof r !== 'string') bad(`each role must be a string, got ${describe(r)}.`);
    if (!/^[A-Za-z0-9_.-]+$/.test(r as string)) bad(`role ${JSON.stringify(r)} may only contain letters, digits, '.', '_' and '-'.`);
    out.push(r as string);
  }
  return out;
}

/** The whole config stage: source text → one validated environment. */
export function configFromSource(source: Source, project: string | undefined, env: string | undefined): EnvConfig {
  const data = parseYaml(source);
  const picked = selectEnv(data, source.name, project, env);
  return validateEnv(picked.raw, { source: source.name, env: picked.env, ...(picked.project ? { project: picked.project } : {}) });
}
