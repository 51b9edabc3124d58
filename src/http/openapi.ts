/**
 * The OpenAPI 3.1 document, generated from the route table and its zod schemas
 * (OpenAPI 3.1 schemas are JSON Schema 2020-12, which zod emits directly).
 */
import { z } from 'zod';
import { ROUTES } from './routes.js';
import { problemSchema } from './schemas.js';

const jsonSchema = (schema: z.core.$ZodType, io: 'input' | 'output' = 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io });

/** An Express path as an OpenAPI path: `:id` and the wildcard `*path` become `{id}`, `{path}`. */
export const openApiPath = (expressPath: string): string => expressPath.replace(/[:*](\w+)/g, '{$1}');

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
  for (const r of ROUTES) {
    const parameters = [
      ...Object.entries(r.params ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } })),
      ...Object.entries(r.query?.shape ?? {}).map(([name, schema]) => ({ name, in: 'query', required: !(schema as z.ZodType).safeParse(undefined).success, schema: jsonSchema(schema as z.ZodType, 'input') })),
    ];
    const content: Record<string, unknown> = {};
    if (r.body?.cose) content['application/cose'] = { schema: { type: 'string', contentMediaType: 'application/cose', description: 'COSE_Sign1 bytes' } };
    if (r.body?.json) content['application/json'] = { schema: jsonSchema(r.body.json, 'input') };
    const success = r.method === 'post' && r.body?.cose ? '201' : '200';
    const path = openApiPath(r.path);
    paths[path] = {
      ...paths[path],
      [r.method]: {
        summary: r.summary,
        ...(parameters.length ? { parameters } : {}),
        ...(r.body ? { requestBody: { required: true, content } } : {}),
        responses: {
          [success]: {
            description: 'success',
            content:
              r.response === 'text'
                ? { 'text/plain': { schema: { type: 'string' } } }
                : r.response === 'binary'
                  ? { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } }
                  : { 'application/json': { schema: jsonSchema(r.response) } },
          },
          ...Object.fromEntries(r.errors.map((status) => [String(status), { description: 'problem details (RFC 9457)', content: problem }])),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Cartulary', version, description: 'A verifiable ledger of copyright: see DESIGN.md for the formats.' },
    paths,
    components: { schemas: { Problem: jsonSchema(problemSchema) } },
  };
}
