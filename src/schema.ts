// The JSON Schema of deploy.yml, made from the key table (src/keys.ts).
// schema/deploy.schema.json is this module's output: `npm run schema` writes
// it, and a test fails when the committed file differs from what this makes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DOMAIN_KEYS, KEYS, STRATEGIES, type KeySpec, type KeyType } from './keys.js';

type Schema = Record<string, unknown>;

const ENV_VAR = '^[A-Za-z_][A-Za-z0-9_]*$';
const scalar = { type: ['string', 'number', 'boolean', 'null'] };

const TYPES: Record<KeyType, Schema> = {
  string: { type: 'string' },
  path: { type: 'string', pattern: '^[^\\u0000-\\u001f\\u007f]*$' },
  branch: { type: 'string', pattern: '^[^-]' },
  boolean: { type: 'boolean' },
  seconds: { type: 'number', exclusiveMinimum: 0 },
  integer: { type: 'integer' },
  batch: {
    anyOf: [
      { type: 'integer', minimum: 1 },
      { type: 'string', pattern: '^([1-9][0-9]?|100)%$' },
    ],
  },
  strategy: { enum: [...STRATEGIES] },
  domain: {
    anyOf: [{ type: 'null' }, { $ref: '#/definitions/host' }, { type: 'array', items: { anyOf: [{ type: 'null' }, { $ref: '#/definitions/host' }] } }],
  },
  vars: { type: ['object', 'null'], propertyNames: { pattern: ENV_VAR }, additionalProperties: scalar },
  ssh_options: { $ref: '#/definitions/sshOptions' },
  paths: {
    anyOf: [
      { type: 'string', pattern: '^[^/~]' },
      { type: 'array', items: { type: 'string', pattern: '^[^/~]' }, uniqueItems: true },
    ],
  },
};

function keySchema(k: KeySpec): Schema {
  const s: Schema = { ...TYPES[k.type], description: `${k.help}${k.origin === 'wd' ? ' (wd addition)' : ''}` };
  if (k.min !== undefined) s['minimum'] = k.min;
  if (k.default !== undefined && /^[0-9]+$|^(true|false|master|in_place|local)$/.test(k.default)) {
    s['default'] = /^[0-9]+$/.test(k.default) ? Number(k.default) : k.default === 'true' ? true : k.default === 'false' ? false : k.default;
  }
  return s;
}

export function deploySchema(): Schema {
  const environment: Schema = {
    type: 'object',
    description: "One environment's settings.",
    properties: Object.fromEntries(KEYS.map((k) => [k.name, keySchema(k)])),
    required: KEYS.filter((k) => k.required).map((k) => k.name),
    additionalProperties: false,
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'wd deploy.yml',
    description:
      "wd's deploy configuration (whiskey_disk compatible): one environment's settings, a map of environment names to settings, or a map of project names to such maps. Reference: docs/usage.md.",
    definitions: {
      environment,
      environments: {
        type: 'object',
        description: 'Environment names, each with its settings.',
        additionalProperties: { anyOf: [{ $ref: '#/definitions/environment' }, { type: 'null' }] },
      },
      host: {
        anyOf: [
          { type: 'string', description: 'user@host[:port], or local' },
          {
            type: 'object',
            properties: {
              name: { type: ['string', 'null'], description: DOMAIN_KEYS[0]!.help },
              roles: {
                anyOf: [{ type: 'null' }, { type: 'string' }, { type: 'array', items: { type: ['string', 'null'] } }],
                description: DOMAIN_KEYS[1]!.help,
              },
              ssh_options: { $ref: '#/definitions/sshOptions', description: DOMAIN_KEYS[2]!.help },
            },
            additionalProperties: false,
          },
        ],
      },
      sshOptions: {
        description: 'OpenSSH client arguments: a string ("-p 2222 -A") or a list (["-i", "~/.ssh/key", "-o", "ConnectTimeout=5"])',
        anyOf: [{ type: ['string', 'null'] }, { type: 'array', items: { type: ['string', 'number', 'null'] } }],
      },
    },
    anyOf: [
      { $ref: '#/definitions/environment' },
      { $ref: '#/definitions/environments' },
      { type: 'object', description: 'Project names, each with its environments.', additionalProperties: { $ref: '#/definitions/environments' } },
    ],
  };
}

export function schemaText(): string {
  return JSON.stringify(deploySchema(), null, 2) + '\n';
}

// `node dist/schema.js --write` (npm run schema): regenerate the committed file.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  const out = fileURLToPath(new URL('../schema/deploy.schema.json', import.meta.url));
  writeFileSync(out, schemaText());
  process.stdout.write(`wrote ${out}\n`);
}
