// config: find the deploy.yml, parse it, pick the environment, validate and
// normalise it (whiskey_disk's config filters) into an EnvConfig.
// parseConfig/selectEnv are pure; only locate/load touch the filesystem or network.
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { ConfigError, didYouMean } from './errors.js';

export interface HostEntry {
  /** As written in `domain` (user@host:port, or 'local'). */
  name: string;
  roles: string[];
  sshOptions: string[];
  local: boolean;
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
}

export const ENV_KEYS = [
  'domain', 'deploy_to', 'repository', 'branch', 'post_setup_script', 'post_deploy_script',
  'rake_env', 'env', 'deploy_config_to', 'config_repository', 'config_branch', 'config_target',
  'project', 'ssh_options', 'deploy_on_push',
] as const;
const DOMAIN_KEYS = ['name', 'roles', 'ssh_options'] as const;

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

export async function loadConfig(
  path: string | undefined,
  cwd: string,
  project: string | undefined,
  env: string | undefined,
  fetchTimeoutMs = 10_000,
): Promise<Source> {
  if (path !== undefined && /^https?:\/\//i.test(path)) return fetchConfig(path, fetchTimeoutMs);
  let file: string | undefined;
  if (path !== undefined) {
    const abs = resolve(cwd, path);
    let st;
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

async function fetchConfig(url: string, timeoutMs: number): Promise<Source> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000}s` : (err.cause?.message ?? err.message);
    throw new ConfigError(`cannot fetch config from ${url}: ${why}. Check the URL, or use a local file with --path FILE.`);
  }
  if (!res.ok) {
    throw new ConfigError(`cannot fetch config from ${url}: HTTP ${res.status} ${res.statusText}. Check the URL, or use a local file with --path FILE.`);
  }
  return { name: url, text: await res.text() };
}

// ---------------------------------------------------------------- parse/select

export function parseYaml(source: Source): unknown {
  try {
    return yaml.load(source.text, { filename: source.name });
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
const isMap = (v: unknown): v is Map => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
const looksLikeEnv = (v: unknown): boolean => isMap(v) && Object.keys(v).some((k) => (ENV_KEYS as readonly string[]).includes(k));

/** Pick the environment's raw settings out of a parsed file. */
export function selectEnv(
  data: unknown,
  source: string,
  project: string | undefined,
  env: string | undefined,
): { raw: Map; env: string; project?: string } {
  if (data === undefined || data === null) throw new ConfigError(`config ${source} is empty. Add an environment, e.g. run 'wd init' to see every key.`);
  if (!isMap(data)) throw new ConfigError(`config ${source}: the top level must be a map of environment names, got ${describe(data)}.`);
  // A file like config/deploy/production.yml may hold the settings directly.
  if (looksLikeEnv(data)) {
    if (!env) throw new ConfigError(`no environment given. Usage: wd deploy <env> (config ${source} holds a single environment's settings; name it as the file is used).`);
    return { raw: data, env, ...(project ? { project } : {}) };
  }
  const envNames = Object.keys(data).filter((k) => looksLikeEnv(data[k]) || data[k] === null || isMap(data[k]) && Object.keys(data[k] as Map).length === 0);
  const projects = Object.keys(data).filter((k) => isMap(data[k]) && !looksLikeEnv(data[k]) && Object.values(data[k] as Map).some(looksLikeEnv));

  if (project !== undefined && projects.includes(project)) {
    const envs = data[project] as Map;
    if (!env) throw new ConfigError(`no environment given for project '${project}'. Environments in ${source}: ${Object.keys(envs).join(', ')}.`);
    const raw = envs[env];
    if (!isMap(raw)) throw unknownEnv(env, Object.keys(envs), `${source} (project '${project}')`);
    return { raw, env, project };
  }
  if (project !== undefined && projects.length > 0 && envNames.length === 0) {
    throw new ConfigError(`unknown project '${project}' in ${source}${didYouMean(project, projects)}. Projects there: ${projects.join(', ')}.`);
  }
  if (!env) {
    const all = envNames.length ? envNames : projects.flatMap((p) => Object.keys(data[p] as Map).map((e) => `${p}:${e}`));
    throw new ConfigError(`no environment given. Usage: wd deploy <env>. Environments in ${source}: ${all.join(', ') || '(none)'}.`);
  }
  if (env in data) {
    const raw = data[env];
    if (raw === null || raw === undefined) throw new ConfigError(`environment '${env}' in ${source} is empty: it needs at least deploy_to and repository.`);
    if (!isMap(raw)) throw new ConfigError(`environment '${env}' in ${source} must be a map of settings, got ${describe(raw)}.`);
    return { raw, env, ...(project ? { project } : {}) };
  }
  if (projects.length > 0) {
    const having = projects.filter((p) => isMap((data[p] as Map)[env]));
    if (having.length === 1) return { raw: (data[having[0]!] as Map)[env] as Map, env, project: having[0]! };
    if (having.length > 1) throw new ConfigError(`environment '${env}' exists in several projects of ${source} (${having.join(', ')}); choose one with --to=<project>:${env}.`);
  }
  throw unknownEnv(env, envNames.length ? envNames : projects.flatMap((p) => Object.keys(data[p] as Map).map((e) => `${p}:${e}`)), source);
}

/**
 * Every environment a parsed file defines, as selectEnv would find them
 * (project set for multi-project files). A file holding one environment's
 * settings directly has no names in it: [].
 */
export function listEnvironments(data: unknown): Array<{ project?: string; env: string }> {
  if (!isMap(data) || looksLikeEnv(data)) return [];
  const out: Array<{ project?: string; env: string }> = [];
  for (const [k, v] of Object.entries(data)) {
    if (looksLikeEnv(v)) out.push({ env: k });
    else if (isMap(v)) for (const [e, ev] of Object.entries(v)) if (looksLikeEnv(ev)) out.push({ project: k, env: e });
  }
  return out;
}

function unknownEnv(env: string, known: string[], where: string): ConfigError {
  return new ConfigError(`unknown environment '${env}' in ${where}${didYouMean(env, known)}. Environments there: ${known.join(', ') || '(none)'}.`);
}

function describe(v: unknown): string {
  if (v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return `a date (${v.toISOString().slice(0, 10)}); quote it`;
  if (isMap(v)) return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

// ---------------------------------------------------------------- validate

/** Validate and normalise one environment, as whiskey_disk's filters do. */
export function validateEnv(raw: Map, ctx: { source: string; env: string; project?: string }): EnvConfig {
  const where = `${ctx.source}, environment '${ctx.project ? ctx.project + ':' : ''}${ctx.env}'`;
  const fail = (key: string, msg: string): never => {
    throw new ConfigError(`${where}, key '${key}': ${msg}`);
  };
  for (const key of Object.keys(raw)) {
    if (!(ENV_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`${where}: unknown key '${key}'${didYouMean(key, ENV_KEYS)}. Known keys: ${ENV_KEYS.join(', ')}.`);
    }
  }
  const str = (key: string, opt: { required?: string } = {}): string | undefined => {
    const v = raw[key];
    if (v === undefined || v === null || v === '') {
      if (opt.required) {
        throw new ConfigError(`${where}: missing required key '${key}' (${opt.required}).`);
      }
      return undefined;
    }
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') return fail(key, `expected a string, got ${describe(v)}.`);
    if (v.includes('\0')) return fail(key, 'contains a NUL byte.');
    return v;
  };

  const deployTo = checkPath(str('deploy_to', { required: 'the directory of the checkout on each host, e.g. deploy_to: /var/www/app' })!, 'deploy_to', fail);
  const repository = str('repository', { required: 'the git URL each host clones from, e.g. repository: git@github.com:me/app.git' })!;
  const branch = str('branch') ?? 'master';
  checkBranch(branch, 'branch', fail);

  const out: EnvConfig = {
    source: ctx.source,
    environment: ctx.env,
    hosts: [],
    deployTo,
    repository,
    branch,
    rakeEnv: {},
    deployOnPush: false,
  };
  const project = str('project') ?? ctx.project;
  if (project !== undefined) out.project = project;
  const pss = str('post_setup_script');
  if (pss !== undefined) out.postSetupScript = checkPath(pss, 'post_setup_script', fail);
  const pds = str('post_deploy_script');
  if (pds !== undefined) out.postDeployScript = checkPath(pds, 'post_deploy_script', fail);

  if (raw['rake_env'] !== undefined && raw['env'] !== undefined && raw['rake_env'] !== null && raw['env'] !== null) {
    fail('env', "'env' is an alias of 'rake_env'; give only one of them.");
  }
  const envKey = raw['rake_env'] !== undefined && raw['rake_env'] !== null ? 'rake_env' : 'env';
  const rakeEnv = raw[envKey];
  if (rakeEnv !== undefined && rakeEnv !== null) {
    if (!isMap(rakeEnv)) fail(envKey, `expected a map of VARIABLE: value, got ${describe(rakeEnv)}.`);
    for (const [k, v] of Object.entries(rakeEnv as Map)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(envKey, `'${k}' is not a valid environment variable name (letters, digits and _, not starting with a digit).`);
      if (v === null || v === undefined) out.rakeEnv[k] = '';
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.rakeEnv[k] = String(v);
      else fail(envKey, `value of ${k} must be a string, number or boolean, got ${describe(v)}.`);
    }
  }

  const dop = raw['deploy_on_push'];
  if (dop !== undefined && dop !== null) {
    if (typeof dop !== 'boolean') fail('deploy_on_push', `expected true or false, got ${describe(dop)}.`);
    out.deployOnPush = dop as boolean;
  }

  const cfgTo = str('deploy_config_to');
  const cfgRepo = str('config_repository');
  const cfgBranch = str('config_branch');
  const cfgTarget = str('config_target');
  if (cfgTo !== undefined || cfgRepo !== undefined) {
    if (cfgTo === undefined) fail('deploy_config_to', `config_repository is set, so deploy_config_to (where to check it out on each host) is required.`);
    if (cfgRepo === undefined) fail('config_repository', `deploy_config_to is set, so config_repository (the git URL of the configuration repository) is required.`);
    const b = cfgBranch ?? 'master';
    checkBranch(b, 'config_branch', fail);
    const target = cfgTarget ?? ctx.env;
    if (target.split('/').includes('..')) fail('config_target', `'${target}' must stay inside the configuration repository (no '..').`);
    out.configRepo = { deployTo: checkPath(cfgTo!, 'deploy_config_to', fail), repository: cfgRepo!, branch: b, target };
  } else if (cfgBranch !== undefined || cfgTarget !== undefined) {
    fail(cfgBranch !== undefined ? 'config_branch' : 'config_target', 'set without config_repository and deploy_config_to; add those or remove this key.');
  }

  const envSsh = sshOptionList(raw['ssh_options'], 'ssh_options', fail);
  out.hosts = normaliseDomains(raw['domain'], envSsh, fail);
  return out;
}

type Fail = (key: string, msg: string) => never;

function checkPath(p: string, key: string, fail: Fail): string {
  if (p.includes('\n')) fail(key, 'must be a single line.');
  if (/^~[^/]/.test(p)) fail(key, `'${p}': ~user paths are not supported; write the absolute path, or ~/path for the login user's home.`);
  return p;
}

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

function checkBranch(b: string, key: string, fail: Fail): void {
  const p = branchProblem(b);
  if (p) fail(key, `'${b}' is not a valid git branch name: it ${p}.`);
}

/**
 * ssh_options: a string ("-p 2222 -A") or a list; empties dropped (whiskey_disk).
 * A list item is one argument, as whiskey_disk passed it to ssh ("/my keys/id"
 * stays whole); only a flag item with its value ("-p 2222") is cut in two.
 */
function sshOptionList(v: unknown, key: string, fail: Fail): string[] {
  if (v === undefined || v === null || v === '') return [];
  const out: string[] = [];
  for (const item of Array.isArray(v) ? v : [v]) {
    if (item === null || item === '') continue;
    if (typeof item !== 'string' && typeof item !== 'number') fail(key, `expected a string or a list of strings, got ${describe(item)}.`);
    const s = String(item).trim();
    if (!Array.isArray(v)) out.push(...s.split(/\s+/).filter((w) => w !== ''));
    else if (/^-[A-Za-z]\s/.test(s)) out.push(s.slice(0, 2), s.slice(2).trim());
    else if (s !== '') out.push(s);
  }
  return out;
}

function normaliseDomains(v: unknown, envSsh: string[], fail: Fail): HostEntry[] {
  // whiskey_disk: absent, empty, or 'local' entries deploy on this machine.
  const list = v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
  const entries: HostEntry[] = [];
  for (const item of list) {
    if (item === null || item === '') {
      entries.push(localHost());
      continue;
    }
    if (typeof item === 'string') {
      entries.push(item === 'local' ? localHost() : { name: hostName(item, fail), roles: [], sshOptions: [...envSsh], local: false });
      continue;
    }
    if (!isMap(item)) fail('domain', `each entry must be a host name or a map {name, roles, ssh_options}, got ${describe(item)}.`);
    const m = item as Map;
    for (const k of Object.keys(m)) {
      if (!(DOMAIN_KEYS as readonly string[]).includes(k)) fail('domain', `unknown key '${k}' in a domain entry${didYouMean(k, DOMAIN_KEYS)}. Known: ${DOMAIN_KEYS.join(', ')}.`);
    }
    const rawName = m['name'];
    if (rawName !== undefined && rawName !== null && typeof rawName !== 'string') fail('domain', `'name' must be a string like deploy@web1, got ${describe(rawName)}.`);
    const name = typeof rawName === 'string' && rawName !== '' && rawName !== 'local' ? hostName(rawName, fail) : 'local';
    const roles = roleList(m['roles'], fail);
    const ssh = [...envSsh, ...sshOptionList(m['ssh_options'], 'domain.ssh_options', fail)];
    entries.push(name === 'local' ? { ...localHost(), roles } : { name, roles, sshOptions: ssh, local: false });
  }
  if (entries.length === 0) entries.push(localHost());
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) fail('domain', `duplicate host '${e.name}'; list each host once (give it several roles instead).`);
    seen.add(e.name);
  }
  return entries;
}

function localHost(): HostEntry {
  return { name: 'local', roles: [], sshOptions: [], local: true };
}

function hostName(s: string, fail: Fail): string {
  const t = s.trim();
  if (!/^([^@\s]+@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?$/.test(t) || t.startsWith('-')) {
    fail('domain', `'${s}' is not a host: expected host, user@host or user@host:port.`);
  }
  return t;
}

function roleList(v: unknown, fail: Fail): string[] {
  if (v === undefined || v === null || v === '') return [];
  const items = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const r of items) {
    if (r === null || r === '') continue; // whiskey_disk drops empty roles
    if (typeof r !== 'string') fail('domain.roles', `each role must be a string, got ${describe(r)}.`);
    if (!/^[A-Za-z0-9_.-]+$/.test(r as string)) fail('domain.roles', `role '${String(r)}' may only contain letters, digits, '.', '_' and '-'.`);
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
