// `wd init`: a commented starter config showing every key of src/keys.ts,
// whose first line points editors at the JSON Schema.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Options } from './args.js';
import { candidates } from './config.js';
import { UsageError } from './errors.js';
import { KEYS } from './keys.js';
import { quote } from './quote.js';
import type { Io } from './run.js';

/** schema/deploy.schema.json of this installation (dist/ and schema/ sit side by side). */
export const SCHEMA_FILE = fileURLToPath(new URL('../schema/deploy.schema.json', import.meta.url));

/**
 * How the config at `configFile` should name the schema. Relative when the file
 * is inside the project that holds this installation (…/project/node_modules/wd-deploy,
 * or wd's own clone), so the line keeps working for everyone who checks the
 * project out and runs npm install; otherwise the absolute path on this machine.
 */
export function schemaReference(configFile: string, schemaFile = SCHEMA_FILE): string {
  const marker = `${sep}node_modules${sep}`;
  const cut = schemaFile.lastIndexOf(marker);
  const project = cut >= 0 ? schemaFile.slice(0, cut) : dirname(dirname(schemaFile));
  const rel = relative(project, configFile);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) {
    return relative(dirname(configFile), schemaFile).split(sep).join('/');
  }
  return schemaFile;
}

const indent = (text: string, pad: string): string =>
  text
    .split('\n')
    .map((l) => (l === '' ? '' : pad + l))
    .join('\n');

/** The starter text: every key of the table, the optional ones commented out. */
export function starter(schemaRef: string): string {
  const lines = [
    `# yaml-language-server: $schema=${schemaRef}`,
    '# deploy.yml for wd (whiskey_disk compatible). One entry per environment.',
    '# Run: wd setup staging   (once per host), then: wd deploy staging',
    '# Every key is shown; the commented ones are optional. Reference: docs/usage.md',
    '',
    'staging:',
  ];
  for (const k of KEYS) {
    if (k.aliasOf) continue;
    const { comment, value, commented } = k.starter;
    // A comment starts a group of keys: a blank line before it.
    if (comment) lines.push(...(lines[lines.length - 1] === 'staging:' ? [] : ['']), indent(comment, '  # '));
    const entry = value.startsWith('\n') ? `${k.name}:${value}` : `${k.name}: ${value}`;
    lines.push(indent(entry, commented ? '  # ' : '  '));
  }
  lines.push(
    '',
    'local:',
    '  # Deploy on this machine: a checkout in ./tmp/app of the repository in this directory.',
    '  deploy_to: tmp/app',
    '  repository: .',
    '  branch: main',
    '',
  );
  return lines.join('\n');
}

export function runInit(opts: Options, io: Io): number {
  if (opts.rest.length > 1) throw new UsageError(`too many arguments to 'wd init': ${opts.rest.join(' ')}. Usage: wd init [FILE] [--force].`);
  const named = opts.rest[0];
  const file = resolve(io.cwd, named ?? 'deploy.yml');
  if (existsSync(file) && !opts.force)
    throw new UsageError(`${file} already exists; not overwriting it. Use --force to replace it, or name another file: wd init FILE.`);
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, starter(schemaReference(file)));
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).message}. Choose another FILE: wd init FILE.`);
  }
  // Name the file in the hint unless plain `wd setup staging` would find this very file.
  const found = candidates(io.cwd, undefined, 'staging').find((p) => existsSync(p)) === file;
  const hint = found ? 'wd setup staging' : `wd setup staging -p ${quote(named ?? 'deploy.yml')}`;
  io.stdout.write(`Wrote ${file}. Edit it, then run: ${hint}\n`);
  return 0;
}
