// biome-ignore-all lint/suspicious/noThenProperty: `then` is a JSON Schema keyword here, not a thenable.
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { RELEASED_SPEC_VERSIONS } from './ac-version.ts';
import type { Issue } from './errors.ts';
import { ISOLATORS } from './isolators.ts';
import { OS_ARCH } from './labels.ts';
import { TIMESTAMP_PATTERN } from './timestamp.ts';
import { HTTP_URL_PATTERN } from './url.ts';

/** JSON Schema (draft 2020-12) of a manifest, generated from this module; published as
 * `@appc/schema/json-schema/image-manifest.json` and `pod-manifest.json`.
 *
 * What it cannot say, so only the TypeScript validators check it: unique names within a list (labels,
 * annotations, environment, ports, apps, volumes, port names across apps), that a mount's volume is declared
 * in `volumes` (POD-004), that an exposed port names an app's port (POD-008), port + count - 1 <= 65535, the
 * exponent and length bounds of quantities and the sign of quantities written as strings with `-0`, the
 * os/arch pairs added at run time with `registerOsArch`, warnings of every kind, and `template` or `strict`
 * options (the schemas judge reified manifests in the default, non-strict mode). */
export type JsonSchema = Record<string, unknown>;

const nullable = (s: JsonSchema): JsonSchema => ({ anyOf: [{ type: 'null' }, s] });
const ref = (name: string): JsonSchema => ({ $ref: `#/$defs/${name}` });
const named = (name: string): JsonSchema => ({ properties: { name: { const: name } }, required: ['name'] });
const stringList = { type: 'array', items: { type: 'string' } };
const nonEmptySet = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } };
const NUMBER_QUANTITY = { type: 'number', minimum: 0, exclusiveMaximum: 1e101 };
const STRING_QUANTITY = {
  type: 'string',
  maxLength: 128,
  pattern:
    '^\\s*\\+?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[numkKMGTPE]|[KMGTPE]i|[eE][-+]?0*(?:[0-9]{1,2}|100))?\\s*$',
};
const SEMVER_BUILD = '(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?';
const RELEASED = RELEASED_SPEC_VERSIONS.map((v) => v.replaceAll('.', '\\.')).join('|');
/** `sha512-` and 128 hex digits, or the spec's placeholder `sha512-...` (TYPES-006). */
const IMAGE_ID_PATTERN = '^sha512-(?:[0-9a-fA-F]{128}|\\.\\.\\.)$';

function isolatorValueRules(level: 'app' | 'pod'): JsonSchema[] {
  const quantity = nullable({ anyOf: [STRING_QUANTITY, NUMBER_QUANTITY] });
  const seccomp = {
    type: 'object',
    required: ['set'],
    properties: { set: nonEmptySet, errno: nullable({ type: 'string', pattern: '^(?:E[A-Z0-9]+)?$' }) },
  };
  const resource = (deviceLike: boolean): JsonSchema => ({
    type: 'object',
    properties: deviceLike
      ? { request: { type: 'null' }, limit: quantity, default: { const: true } }
      : { request: quantity, limit: quantity, default: { enum: [false, null] } },
    ...(deviceLike ? { required: ['default'] } : {}),
  });
  const values: Record<string, JsonSchema> = {
    'os/linux/seccomp-remove-set': seccomp,
    'os/linux/seccomp-retain-set': seccomp,
    'os/linux/selinux-context': {
      type: 'object',
      required: ['user', 'role', 'type', 'level'],
      properties: {
        user: { type: 'string', pattern: '^[^:]+$' },
        role: { type: 'string', pattern: '^[^:]+$' },
        type: { type: 'string', pattern: '^[^:]+$' },
        level: { type: 'string', minLength: 1 },
      },
    },
    'os/linux/apparmor-profile': {
      type: 'object',
      required: ['profile'],
      properties: { profile: { type: 'string', minLength: 1 } },
    },
    'os/linux/capabilities-remove-set': {
      type: 'object',
      required: ['set'],
      properties: { set: nonEmptySet },
    },
    'os/linux/capabilities-retain-set': {
      type: 'object',
      required: ['set'],
      properties: { set: nonEmptySet },
    },
    'os/linux/no-new-privileges': { type: 'boolean' },
    'resource/cpu': resource(false),
    'resource/memory': resource(false),
    'resource/block-bandwidth': resource(true),
    'resource/block-iops': resource(true),
    'resource/network-bandwidth': resource(true),
    'os/unix/sysctl': { type: 'object', additionalProperties: { type: 'string' } },
    'os/linux/cpu-shares': { type: 'integer', minimum: 2, maximum: 262144 },
    'os/linux/oom-score-adj': { type: 'integer', minimum: -1000, maximum: 1000 },
  };
  const rules: JsonSchema[] = [];
  for (const name of Object.keys(ISOLATORS)) {
    const value = values[name];
    if (value) rules.push({ if: named(name), then: { properties: { value } } });
  }
  if (level === 'app') return rules;
  return rules;
}

function isolatorList(level: 'app' | 'pod'): JsonSchema {
  const item = {
    type: 'object',
    required: ['name', 'value'],
    properties: {
      name: ref('acIdentifier'),
      value: { description: 'any JSON value, null included (TYPES-007); rules by name below' },
    },
    allOf: isolatorValueRules(level),
  };
  const list: JsonSchema = { type: 'array', items: item };
  if (level === 'pod') {
    // "Only a single … can be specified per-pod" (ISO-008, ISO-009, ISO-019)
    list.allOf = ['os/linux/selinux-context', 'os/linux/apparmor-profile', 'os/unix/sysctl'].map((name) => ({
      contains: named(name),
      minContains: 0,
      maxContains: 1,
    }));
  }
  if (level === 'app') {
    const contains = (name: string) => ({ contains: named(name) });
    list.allOf = [
      ...Object.entries(ISOLATORS)
        .filter(([, info]) => info.once)
        .map(([name]) => ({ contains: named(name), minContains: 0, maxContains: 1 })),
      { not: { allOf: [contains('os/linux/seccomp-remove-set'), contains('os/linux/seccomp-retain-set')] } },
      {
        not: {
          allOf: [contains('os/linux/capabilities-remove-set'), contains('os/linux/capabilities-retain-set')],
        },
      },
    ];
  }
  return list;
}

function labelsSchema(): JsonSchema {
  const label = (os: string) => ({
    contains: { properties: { name: { const: 'os' }, value: { const: os } }, required: ['name', 'value'] },
  });
  return {
    type: 'array',
    items: {
      type: 'object',
      required: ['name', 'value'],
      properties: {
        name: { allOf: [ref('acIdentifier'), { not: { const: 'name' } }] },
        value: { type: 'string' },
      },
      if: named('os'),
      then: { properties: { value: { enum: Object.keys(OS_ARCH) } }, required: ['value'] },
    },
    allOf: Object.entries(OS_ARCH).map(([os, arches]) => ({
      if: label(os),
      // a missing or null arch value reads as "", which no OS allows (TYPES-010)
      then: {
        items: { if: named('arch'), then: { properties: { value: { enum: arches } }, required: ['value'] } },
      },
    })),
  };
}

function annotationsSchema(nameDef: 'acIdentifier' | 'acName'): JsonSchema {
  return {
    type: 'array',
    items: {
      type: 'object',
      required: ['name', 'value'],
      properties: { name: ref(nameDef), value: { type: 'string' } },
      allOf: [
        {
          if: named('created'),
          then: { properties: { value: { pattern: TIMESTAMP_PATTERN, format: 'date-time' } } },
        },
        {
          if: named('homepage'),
          then: { properties: { value: { pattern: HTTP_URL_PATTERN, format: 'uri' } } },
        },
        {
          if: named('documentation'),
          then: { properties: { value: { pattern: HTTP_URL_PATTERN, format: 'uri' } } },
        },
      ],
    },
  };
}

function commonDefs(): Record<string, JsonSchema> {
  return {
    acIdentifier: { type: 'string', pattern: '^[a-z0-9]+(?:(?:[-._~]|/~?)[a-z0-9]+)*$' },
    acName: { type: 'string', pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$' },
    acVersion: {
      type: 'string',
      description: 'a released spec version up to 0.8.11, build metadata allowed (TYPES-005)',
      pattern: `^(?:${RELEASED})${SEMVER_BUILD}$`,
    },
    imageId: { type: 'string', pattern: IMAGE_ID_PATTERN },
    labels: labelsSchema(),
    stringMap: { type: 'object', additionalProperties: { type: 'string' } },
    port: {
      type: 'object',
      required: ['name', 'protocol', 'port'],
      properties: {
        name: ref('acName'),
        protocol: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        count: nullable({ type: 'integer', minimum: 1, maximum: 65535 }),
        socketActivated: { type: ['boolean', 'null'] },
      },
    },
    app: {
      type: 'object',
      required: ['user', 'group'],
      properties: {
        exec: nullable(stringList),
        user: { type: 'string', minLength: 1 },
        group: { type: 'string', minLength: 1 },
        supplementaryGIDs: nullable({
          type: 'array',
          items: { type: 'integer', minimum: 0, maximum: 4294967295 },
        }),
        eventHandlers: nullable({
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'exec'],
            properties: { name: { enum: ['pre-start', 'post-stop'] }, exec: stringList },
          },
          allOf: [
            { contains: named('pre-start'), minContains: 0, maxContains: 1 },
            { contains: named('post-stop'), minContains: 0, maxContains: 1 },
          ],
        }),
        workingDirectory: { type: ['string', 'null'], pattern: '^/' },
        environment: nullable({
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'value'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z_0-9.-]*$' },
              value: { type: 'string' },
            },
          },
        }),
        isolators: nullable(isolatorList('app')),
        mountPoints: nullable({
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'path'],
            properties: {
              name: ref('acName'),
              path: { type: 'string', pattern: '^/' },
              readOnly: { type: ['boolean', 'null'] },
            },
          },
        }),
        ports: nullable({ type: 'array', items: ref('port') }),
        userAnnotations: nullable(ref('stringMap')),
        userLabels: nullable(ref('stringMap')),
      },
      if: { required: ['supplementaryGIDs'] },
      else: {
        properties: {
          supplementaryGids: nullable({
            type: 'array',
            items: { type: 'integer', minimum: 0, maximum: 4294967295 },
          }),
        },
      },
    },
  };
}

/** The JSON Schema of an image manifest (IMG-*). */
export function imageManifestJsonSchema(): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://appc.dev/schema/0.8.11/image-manifest.json',
    title: 'App Container ImageManifest (appc 0.8.11)',
    description:
      'Generated from @appc/schema src/json-schema.ts; unique names, port ranges and warnings are checked by the TypeScript validators only.',
    type: 'object',
    required: ['acKind', 'acVersion', 'name'],
    properties: {
      acKind: { const: 'ImageManifest' },
      acVersion: ref('acVersion'),
      name: ref('acIdentifier'),
      labels: nullable(ref('labels')),
      app: nullable(ref('app')),
      dependencies: nullable({
        type: 'array',
        items: {
          type: 'object',
          required: ['imageName'],
          properties: {
            imageName: ref('acIdentifier'),
            imageID: { type: ['string', 'null'], pattern: IMAGE_ID_PATTERN },
            labels: nullable(ref('labels')),
            size: nullable({ type: 'integer', minimum: 0 }),
          },
        },
      }),
      pathWhitelist: nullable({ type: 'array', items: { type: 'string', pattern: '^/' } }),
      annotations: nullable(annotationsSchema('acIdentifier')),
    },
    $defs: commonDefs(),
  };
}

/** The JSON Schema of a reified pod manifest (POD-*). */
export function podManifestJsonSchema(): JsonSchema {
  const volume = {
    type: 'object',
    required: ['name', 'kind'],
    properties: {
      name: ref('acName'),
      kind: { enum: ['host', 'empty'] },
      readOnly: { type: ['boolean', 'null'] },
    },
    allOf: [
      {
        if: { properties: { kind: { const: 'host' } } },
        then: {
          required: ['source'],
          properties: { source: { type: 'string', pattern: '^/' }, recursive: { type: ['boolean', 'null'] } },
        },
      },
      {
        if: { properties: { kind: { const: 'empty' } } },
        then: {
          properties: {
            mode: { type: ['string', 'null'], pattern: '^0{0,8}[0-7]{1,4}$' },
            uid: nullable({ type: 'integer', minimum: 0, maximum: 4294967295 }),
            gid: nullable({ type: 'integer', minimum: 0, maximum: 4294967295 }),
          },
        },
      },
    ],
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://appc.dev/schema/0.8.11/pod-manifest.json',
    title: 'App Container PodManifest (appc 0.8.11)',
    description:
      'Generated from @appc/schema src/json-schema.ts; unique names and warnings are checked by the TypeScript validators only.',
    type: 'object',
    required: ['acVersion', 'acKind', 'apps'],
    properties: {
      acVersion: ref('acVersion'),
      acKind: { const: 'PodManifest' },
      apps: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'image'],
          properties: {
            name: ref('acName'),
            image: {
              type: 'object',
              required: ['id'],
              properties: {
                id: ref('imageId'),
                name: nullable(ref('acIdentifier')),
                labels: nullable(ref('labels')),
              },
            },
            app: nullable(ref('app')),
            readOnlyRootFS: { type: ['boolean', 'null'] },
            mounts: nullable({
              type: 'array',
              items: {
                type: 'object',
                required: ['volume', 'path'],
                properties: {
                  volume: ref('acName'),
                  path: { type: 'string', minLength: 1 },
                  appVolume: nullable(ref('volume')),
                },
              },
            }),
            annotations: nullable(annotationsSchema('acName')),
          },
        },
      },
      volumes: nullable({ type: 'array', items: ref('volume') }),
      isolators: nullable(isolatorList('pod')),
      annotations: nullable(annotationsSchema('acName')),
      ports: nullable({
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'hostPort'],
          properties: {
            name: ref('acName'),
            hostPort: { type: 'integer', minimum: 1, maximum: 65535 },
            hostIP: { anyOf: [{ type: 'null' }, { type: 'string', format: 'ipv4' }] },
            podPort: nullable(ref('port')),
          },
        },
      }),
      userAnnotations: nullable(ref('stringMap')),
      userLabels: nullable(ref('stringMap')),
    },
    $defs: { ...commonDefs(), volume },
  };
}

/** The text of a generated schema file, as committed under `json-schema/`. */
export function jsonSchemaText(kind: 'ImageManifest' | 'PodManifest'): string {
  return `${JSON.stringify(kind === 'ImageManifest' ? imageManifestJsonSchema() : podManifestJsonSchema(), null, 2)}\n`;
}

let compiled: { ImageManifest: ValidateFunction; PodManifest: ValidateFunction } | undefined;

function compile() {
  if (!compiled) {
    // ajv is loaded on first use, not at import: it takes longer to load than the rest of this package, and
    // most callers (the CLI's every command among them) never ask for the JSON Schema check.
    const require = createRequire(import.meta.url);
    const { Ajv2020: Ajv } = require('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020 };
    const addFormatsModule: unknown = require('ajv-formats');
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      strictTypes: false,
      strictRequired: false,
      allowUnionTypes: true,
    });
    // ajv-formats is CommonJS; its function is the module itself under Node and `.default` under bundlers.
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
      addFormatsModule) as (a: Ajv2020) => void;
    addFormats(ajv);
    compiled = {
      ImageManifest: ajv.compile(imageManifestJsonSchema()),
      PodManifest: ajv.compile(podManifestJsonSchema()),
    };
  }
  return compiled;
}

/** Judges a manifest with the published JSON Schema (compiled once with ajv). Its verdict agrees with
 * {@link validateImageManifest}/{@link validatePodManifest} except for the rules listed on {@link JsonSchema};
 * every issue has the code `ERR_SCHEMA_JSON_SCHEMA` and names the failing keyword. */
export function validateWithJsonSchema(kind: 'ImageManifest' | 'PodManifest', value: unknown): Issue[] {
  const validate = compile()[kind];
  if (validate(value)) return [];
  const requirement = kind === 'ImageManifest' ? 'IMG-019' : 'POD-001';
  return (validate.errors ?? [])
    .filter((e: ErrorObject) => e.keyword !== 'if' && e.keyword !== 'anyOf')
    .map((e: ErrorObject) => ({
      code: 'ERR_SCHEMA_JSON_SCHEMA',
      pointer: e.instancePath,
      requirement,
      message: `${e.instancePath || '/'} ${e.message ?? 'is invalid'} (JSON Schema keyword "${e.keyword}" at ${e.schemaPath})`,
    }));
}
