/**
 * The OpenAPI 3.1 document, generated from the route table and its zod schemas
 * (OpenAPI 3.1 schemas are JSON Schema 2020-12, which zod emits directly). Every schema
 * with an id (`.meta({ id })`) becomes a component, referenced wherever it is used.
 */
import { z } from 'zod';
import { ERROR_CODES, problemPath } from './problem.js';
import { ROUTES, type Route } from './routes.js';
import { problemSchema } from './schemas.js';

type JsonSchema = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';

/** Rewrites zod's local `#/$defs/X` references to components. */
function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, COMPONENT) : toComponentRefs(v)]),
  );
}

/** Converts a schema, moving the named schemas it uses into `components`. */
function schemaFor(schema: z.core.$ZodType, components: Record<string, JsonSchema>, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _dialect, $defs, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io }) as JsonSchema;
  for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
    // Request schemas are converted as input, responses as output: a name must mean one shape.
    const converted = toComponentRefs(def) as JsonSchema;
    if (components[name] && JSON.stringify(components[name]) !== JSON.stringify(converted)) throw new Error(`schema ${name} differs between uses`);
    components[name] = converted;
  }
  return toComponentRefs(rest) as JsonSchema;
}

/** An Express path as an OpenAPI path: `:id` and the wildcard `*path` become `{id}`, `{path}`. */
export const openApiPath = (expressPath: string): string => expressPath.replace(/[:*](\w+)/g, '{$1}');

function tagOf(path: string): string {
  if (path.startsWith('/v1/proofs') || path.startsWith('/tile/') || path === '/checkpoint' || path === '/v1/log') return 'log';
  if (path.startsWith('/v1/entries') || path.startsWith('/v1/statements')) return 'entries';
  if (path.startsWith('/v1/works') || path.startsWith('/v1/parties')) return 'register';
  if (path === '/v1/check') return 'check';
  return 'operations';
}

const TAGS = [
  { name: 'log', description: 'The log itself: checkpoints, the verifier key, inclusion and consistency proofs (RFC 6962, C2SP), tiles (C2SP tlog-tiles).' },
  { name: 'entries', description: 'Submitting signed statements, and reading entries back.' },
  { name: 'register', description: 'The register as it stands: works, licences, parties, evidence bundles.' },
  { name: 'check', description: "A platform's pre-publish check." },
  { name: 'operations', description: 'Liveness, readiness and metrics for operators.' },
];

/** The spec implementers read: served by the ledger itself at /docs/format. */
export const FORMAT_DOC_PATH = '/docs/format';

function operation(r: Route, components: Record<string, JsonSchema>) {
  const parameters = [
    ...Object.entries(r.params ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } })),
    ...Object.entries(r.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: schemaFor(schema as z.ZodType, components, 'input'),
    })),
  ];
  const content: Record<string, unknown> = {};
  if (r.body?.cose) content['application/cose'] = { schema: { type: 'string', contentMediaType: 'application/cose', description: `COSE_Sign1 bytes (format specification §3, ${FORMAT_DOC_PATH})` } };
  if (r.body?.json) content['application/json'] = { schema: schemaFor(r.body.json, components, 'input') };
  const success =
    r.response === 'text'
      ? { 'text/plain': { schema: { type: 'string' } } }
      : r.response === 'binary'
        ? { [r.mediaType ?? 'application/octet-stream']: { schema: { type: 'string', contentMediaType: r.mediaType ?? 'application/octet-stream' } } }
        : { 'application/json': { schema: schemaFor(r.response, components) } };
  const statuses = r.statuses ?? { 200: 'success' };
  return {
    operationId: r.operationId,
    summary: r.summary,
    tags: [tagOf(r.path)],
    ...(parameters.length ? { parameters } : {}),
    ...(r.body ? { requestBody: { required: true, content } } : {}),
    responses: {
      ...Object.fromEntries(Object.entries(statuses).map(([status, description]) => [status, { description, content: success }])),
      ...Object.fromEntries(r.errors.map((status) => [String(status), { $ref: '#/components/responses/Problem' }])),
      // Node's HTTP parser answers malformed requests, oversized headers and timeouts on any route.
      '4XX': { $ref: '#/components/responses/Problem' },
      default: { $ref: '#/components/responses/Problem' },
    },
  };
}

export function openApiDocument(version: string): Record<string, unknown> {
  const components: Record<string, JsonSchema> = {};
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const path = openApiPath(r.path);
    paths[path] = { ...paths[path], [r.method]: operation(r, components) };
  }
  schemaFor(problemSchema, components);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cartulary',
      version,
      summary: 'A verifiable, append-only ledger of copyright.',
      description:
        'Signed statements (COSE_Sign1) about works, licences and transfers, appended to a hash-chained log in an RFC 6962 Merkle tree under signed C2SP checkpoints. ' +
        `Formats, hashing and rules are specified in the format specification (${FORMAT_DOC_PATH}). Errors are RFC 9457 problem details whose \`type\` resolves to a page describing the problem.`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    externalDocs: { description: 'Cartulary format specification', url: FORMAT_DOC_PATH },
    servers: [{ url: '/', description: 'the ledger serving this document' }],
    // Authorisation is by the signature inside each statement, never by the HTTP request.
    security: [],
    tags: TAGS,
    paths,
    components: {
      schemas: components,
      responses: {
        Problem: {
          description: `Problem details (RFC 9457). \`type\` is one of ${ERROR_CODES.map((c) => problemPath(c)).join(', ')}, or about:blank for an internal error.`,
          content: { 'application/problem+json': { schema: { $ref: `${COMPONENT}Problem` } } },
        },
      },
    },
  };
}
