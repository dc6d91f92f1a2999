/**
 * When a mock answers with a tool call, and with what input. Real agents offer tools on every
 * request (Claude Code about a dozen, Codex nine); answering each of them with a call would trap
 * an agent in a loop, so by default the answer is text that ends the turn. A call comes only
 * when asked:
 *   - a fault rule / scenario step: `respond: { tool_call: { name?, input? } }` (with the rule's
 *     own `match.probability` + `seed` for "sometimes");
 *   - the request's `tool_choice` forcing one (`any` / `required` / a named tool), like the real API;
 *   - a marker in the last user turn: `relaylab:tool_call` or `relaylab:tool_call=<name>`;
 *   - the upstream's config: `tool_calls: { probability, name? }`, drawn from the content seed.
 * A request whose last turn carries a tool result gets text unless a rule or tool_choice says
 * otherwise, so no loop is possible by default. Inputs are generated from the tool's JSON Schema
 * (json-schema-faker, seeded) and checked against it (ajv) before they are sent.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { generateSync } from 'json-schema-faker';
import { endsWithToolResult, lastUserText, offeredTools, toolChoice, type OfferedTool } from '../protocols/tools.js';
import type { ProtocolId } from '../protocols/types.js';
import type { Random } from './random.js';

/** A tool call asked for by a rule: a tool name (else one offered, picked by the seed) and a literal input (else generated). */
export interface ToolCallAsk {
  name?: string;
  input?: Record<string, unknown>;
}

/** The upstream's standing policy (config `tool_calls`). */
export interface ToolCallPolicy {
  /** Share of tool-offering requests answered with a call (0 = never, the default). */
  probability: number;
  /** Which tool to call; default: one of those offered, picked by the seed. */
  name?: string;
}

export interface PlannedToolCall {
  name: string;
  input: Record<string, unknown>;
}

export const TOOL_CALL_MARKER = 'relaylab:tool_call';
const MARKER_RE = /relaylab:tool_call(?:=([A-Za-z0-9_.:-]+))?/;

/**
 * The tool call to answer with, or undefined for text. `random` is the request's content
 * generator: the same (seed, request number) always decides the same way.
 */
export function planToolCall(
  protocol: ProtocolId,
  body: unknown,
  random: Random,
  policy: ToolCallPolicy | undefined,
  ask: ToolCallAsk | undefined,
): PlannedToolCall | undefined {
  const tools = offeredTools(protocol, body);
  if (ask) return callFor(tools, ask.name, ask.input, random);
  if (tools.length === 0) return undefined;
  const choice = toolChoice(protocol, body);
  if (choice.mode === 'none') return undefined;
  if (choice.mode === 'tool') return callFor(tools, choice.name, undefined, random);
  if (choice.mode === 'required') return callFor(tools, policy?.name, undefined, random);
  if (endsWithToolResult(protocol, body)) return undefined;
  const marker = MARKER_RE.exec(lastUserText(protocol, body));
  if (marker) return callFor(tools, marker[1], undefined, random);
  if (policy && policy.probability > 0 && random() < policy.probability) return callFor(tools, policy.name, undefined, random);
  return undefined;
}

/**
 * The call of `name` (else a tool picked by the seed). A literal input is sent as given, even for
 * a tool the request did not offer (a rule's choice); otherwise only an offered tool is called,
 * with a generated input: a tool that is not offered (misspelt in a marker, or one the mock never
 * calls, such as a Codex namespace's) has no schema to honour, so the answer stays text rather
 * than a call with an input its schema may refuse.
 */
function callFor(tools: OfferedTool[], name: string | undefined, input: Record<string, unknown> | undefined, random: Random): PlannedToolCall | undefined {
  const tool = name !== undefined ? tools.find((t) => t.name === name) : tools[Math.floor(random() * tools.length)];
  const chosen = name ?? tool?.name;
  if (chosen === undefined) return undefined;
  if (input) return { name: chosen, input };
  return tool ? { name: chosen, input: validToolInput(tool, Math.floor(random() * 2 ** 31)) } : undefined;
}

/** How often optional properties are filled in: 0 keeps inputs to what the schema requires. */
export interface InputOptions {
  optionalsProbability?: number;
}

const ATTEMPTS = 5;

/**
 * An input that validates against the tool's schema, deterministic for the seed. A schema the
 * generator cannot satisfy in a few seeds is an error (the mock answers 500 naming the tool),
 * never an invalid call sent to a client.
 */
export function validToolInput(tool: OfferedTool, seed: number, opts: InputOptions = {}): Record<string, unknown> {
  const schema = withoutDialect(tool.schema);
  const validate = validatorFor(schema);
  let problems = '';
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const value = generateSync(schema, {
      seed: (seed + attempt) >>> 0,
      optionalsProbability: opts.optionalsProbability ?? 0,
      maxDefaultItems: 2,
      maxDepth: 4,
    });
    if (validate(value) && isRecord(value)) return value;
    problems = isRecord(value) ? ajvErrors(validate) : `generated ${JSON.stringify(value)?.slice(0, 80)}, not an object`;
  }
  throw new Error(`tool ${tool.name}: no input valid against its schema after ${ATTEMPTS} tries (${problems})`);
}

const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false, validateFormats: false });
const validators = new Map<string, ValidateFunction>();
const MAX_VALIDATORS = 256;

/** Compiled once per distinct schema (agents send the same dozen schemas on every request). */
export function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    if (validators.size >= MAX_VALIDATORS) validators.clear();
    validate = ajv.compile(schema);
    validators.set(key, validate);
  }
  return validate;
}

/** Tool schemas name draft-07 or 2020-12 (or nothing); both are read as 2020-12, which the keywords tools use agree on. */
function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  if (!('$schema' in schema)) return schema;
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

function ajvErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
