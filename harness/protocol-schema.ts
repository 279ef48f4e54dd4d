/**
 * The JSON Schemas of the contract (docs/schema/), compiled once with Ajv: a check of one WebSocket
 * message or canonical event, answering what is wrong (empty when it is valid). Used by
 * test/protocol-contract.test.ts and by the management endpoint stand-in (support/realtime.ts), so every
 * message the handlers post in the DynamoDB-backed socket, catch-up and push tests is checked too.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SCHEMA_DIR = path.join(__dirname, '..', 'docs', 'schema');

export interface JsonSchema {
  $id?: string;
  type?: string;
  properties?: Record<string, JsonSchema & { const?: unknown; enum?: unknown[]; examples?: unknown[] }>;
  required?: string[];
  definitions?: Record<string, JsonSchema>;
  oneOf?: { $ref: string }[];
  [key: string]: unknown;
}

export const readSchema = (file: string): JsonSchema => JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as JsonSchema;
export const WEBSOCKET_SCHEMA = readSchema('websocket.schema.json');
export const CANONICAL_EVENT_SCHEMA = readSchema('canonical-event.schema.json');

// strict: an unknown keyword or a misspelt one in the schema is an error, not ignored.
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addSchema(WEBSOCKET_SCHEMA);
ajv.addSchema(CANONICAL_EVENT_SCHEMA);

const compiled = new Map<string, ValidateFunction>();
function validator(ref: string): ValidateFunction {
  let v = compiled.get(ref);
  if (!v) {
    v = ajv.getSchema(ref);
    if (!v) throw new Error(`no schema ${ref}`);
    compiled.set(ref, v);
  }
  return v;
}

const describeErrors = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);

function check(ref: string, value: unknown): string[] {
  const v = validator(ref);
  return v(value) ? [] : describeErrors(v.errors);
}

const WS = WEBSOCKET_SCHEMA.$id!;
const membersOf = (union: string): string[] => (WEBSOCKET_SCHEMA.definitions?.[union]?.oneOf ?? []).map((r) => r.$ref.replace('#/definitions/', ''));

/** What is wrong with `value` as the one message type `type` (its definition alone: clearer errors than the union's). */
export const messageProblems = (type: string, value: unknown): string[] => check(`${WS}#/definitions/${type}`, value);

/** A union's verdict; for a message of one of its types, the problems told by that type's definition alone. */
function unionProblems(union: 'ClientMessage' | 'ServerMessage', value: unknown): string[] {
  const problems = check(`${WS}#/definitions/${union}`, value);
  const type = (value as { type?: unknown } | null)?.type;
  if (!problems.length || typeof type !== 'string' || !membersOf(union).includes(type)) return problems;
  return messageProblems(type, value).map((p) => `${type}: ${p}`);
}
/** What is wrong with `value` as a message the server sends (a member of ServerMessage). */
export const serverMessageProblems = (value: unknown): string[] => unionProblems('ServerMessage', value);
/** What is wrong with `value` as a message a client sends (a member of ClientMessage). */
export const clientMessageProblems = (value: unknown): string[] => unionProblems('ClientMessage', value);
/** What is wrong with `value` as a canonical event on the topic. */
export const canonicalEventProblems = (value: unknown): string[] => check(CANONICAL_EVENT_SCHEMA.$id!, value);
