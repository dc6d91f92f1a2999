/**
 * Loads a YAML file and validates it against a zod schema. Every config file in relaylab
 * (mocks, relay, scenarios, benchmarks) goes through here, so every error names the file,
 * the line and the field, and says what was expected.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted path to the field, e.g. `channels[0].endpoints[1].token`. */
  field: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(public readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return i.field ? `${where}: ${i.field}: ${i.message}` : `${where}: ${i.message}`;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function locate(doc: Document, counter: LineCounter, path: ReadonlyArray<PropertyKey>): { line: number; column: number } {
  // Walk down as far as the path exists; a missing field is reported at its parent.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) {
      const pos = counter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}

/** Parses YAML text and validates it; throws ConfigError with file/line/field on any problem. */
export function parseYamlConfig<S extends z.ZodType>(text: string, schema: S, file = '<inline>'): z.output<S> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = counter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const result = schema.safeParse(doc.toJS());
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const { line, column } = locate(doc, counter, issue.path);
      return { file, line, column, field: formatPath(issue.path), message: issue.message };
    }),
  );
}

export function loadYamlConfig<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: path, line: 0, column: 0, field: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  return parseYamlConfig(text, schema, path);
}

/** Validates an already-parsed object (admin API bodies, in-process configs). */
export function validateConfig<S extends z.ZodType>(value: unknown, schema: S, source = '<object>'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({ file: source, line: 0, column: 0, field: formatPath(issue.path), message: issue.message })),
  );
}
