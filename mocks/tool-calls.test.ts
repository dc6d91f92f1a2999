/**
 * The content policy real agents can finish on, through the official SDKs for all three
 * protocols, stream and non-stream: text that ends the turn by default even when tools are
 * offered; tool calls only when asked (marker, tool_choice, rule, config), with inputs valid
 * against the tool's schema; text after a tool result unless a rule says otherwise. The tool
 * schemas are the ones Claude Code and Codex CLI really send (agents/fixtures/, captured from
 * their requests in the mock journal).
 */
import Anthropic from '@anthropic-ai/sdk';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from './index.js';
import { seededRandom } from './random.js';
import { TOOL_CALL_MARKER, validToolInput } from './tool-calls.js';

interface AnthropicTool {
  name: string;
  description?: string;
  input_schema?: Record<string, unknown>;
}
interface ResponsesTool {
  type: string;
  name?: string;
  description?: string;
  parameters?: Record<string, unknown>;
}
const fixture = <T>(file: string): T[] => JSON.parse(readFileSync(new URL(`../agents/fixtures/${file}`, import.meta.url), 'utf8')).tools;
const CLAUDE_TOOLS = fixture<AnthropicTool>('claude-code-tools.json');
const CODEX_TOOLS = fixture<ResponsesTool>('codex-tools.json');
const CODEX_FUNCTIONS = CODEX_TOOLS.filter((t) => t.type === 'function' && t.parameters);
const CHAT_TOOLS = CODEX_FUNCTIONS.map((t) => ({ type: 'function' as const, function: { name: t.name!, description: t.description, parameters: t.parameters } }));

/** An independent validator (not the mock's instance), as a client would check what it got. */
const checker = new Ajv2020({ strict: false, allErrors: true, logger: false, validateFormats: false });
function expectValid(schema: Record<string, unknown> | undefined, input: unknown): void {
  const { $schema: _ignored, ...rest } = schema ?? { type: 'object' };
  const validate = checker.compile(rest);
  const ok = validate(input);
  expect(ok, `${JSON.stringify(input)}: ${checker.errorsText(validate.errors)}`).toBe(true);
}
const schemaOfClaude = (name: string) => CLAUDE_TOOLS.find((t) => t.name === name)!.input_schema;
const schemaOfCodex = (name: string) => CODEX_FUNCTIONS.find((t) => t.name === name)!.parameters;

const KEY = 'sk-tool-calls-test-0001';
let fleet: MockFleet;
let claude: Anthropic;
let openai: OpenAI;
let responses: OpenAI;

beforeAll(async () => {
  fleet = await startMocks({
    upstreams: [
      { name: 'claude', kind: 'claude', tokens: [KEY], seed: 11, output: { tokens: 8 } },
      { name: 'chat', kind: 'openai', tokens: [KEY], seed: 12, output: { tokens: 8 } },
      { name: 'responses', kind: 'openai-responses', tokens: [KEY], seed: 13, output: { tokens: 8 } },
      { name: 'eager', kind: 'claude', tokens: [KEY], seed: 14, output: { tokens: 8 }, tool_calls: { probability: 1 } },
    ],
  });
  claude = new Anthropic({ apiKey: KEY, baseURL: fleet.get('claude').url, maxRetries: 0 });
  openai = new OpenAI({ apiKey: KEY, baseURL: `${fleet.get('chat').url}/v1`, maxRetries: 0 });
  responses = new OpenAI({ apiKey: KEY, baseURL: `${fleet.get('responses').url}/v1`, maxRetries: 0 });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.control.reset());

const MODEL = 'claude-sonnet-4-6';
const anthropicAsk = (text: string, extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}) => ({
  model: MODEL,
  max_tokens: 1024,
  tools: CLAUDE_TOOLS as Anthropic.Tool[],
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
});

describe('Anthropic tool_use', () => {
  it('answers a request offering tools with text and end_turn, stream and non-stream', async () => {
    const plain = await claude.messages.create(anthropicAsk('say hi'));
    expect(plain.stop_reason).toBe('end_turn');
    expect(plain.content.map((b) => b.type)).toEqual(['text']);
    const streamed = await claude.messages.stream(anthropicAsk('say hi')).finalMessage();
    expect(streamed.stop_reason).toBe('end_turn');
    expect(streamed.content.map((b) => b.type)).toEqual(['text']);
  });

  it('calls the tool a marker names, with input_json_delta pieces that join to an input valid for its schema', async () => {
    const deltas: string[] = [];
    const stream = claude.messages.stream(anthropicAsk(`run it ${TOOL_CALL_MARKER}=Bash`));
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') deltas.push(e.delta.partial_json);
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    const call = final.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    expect(call.name).toBe('Bash');
    expect(deltas.length).toBeGreaterThan(0);
    expect(JSON.parse(deltas.join(''))).toEqual(call.input);
    expectValid(schemaOfClaude('Bash'), call.input);

    const plain = await claude.messages.create(anthropicAsk(`read it ${TOOL_CALL_MARKER}=Read`));
    const read = plain.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    expect([plain.stop_reason, read.name]).toEqual(['tool_use', 'Read']);
    expectValid(schemaOfClaude('Read'), read.input);
  });

  it('answers a tool result with text that ends the turn, even on an upstream configured to call tools', async () => {
    const first = await claude.messages.create({ ...anthropicAsk(`go ${TOOL_CALL_MARKER}=Bash`) });
    const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    const followUp = {
      ...anthropicAsk('unused'),
      messages: [
        { role: 'user' as const, content: `go ${TOOL_CALL_MARKER}=Bash` },
        { role: 'assistant' as const, content: first.content },
        { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: call.id, content: 'ok' }] },
      ],
    };
    const second = await claude.messages.create(followUp);
    expect(second.stop_reason).toBe('end_turn');
    const eager = new Anthropic({ apiKey: KEY, baseURL: fleet.get('eager').url, maxRetries: 0 });
    expect((await eager.messages.create(anthropicAsk('fresh question'))).stop_reason).toBe('tool_use');
    expect((await eager.messages.create(followUp)).stop_reason).toBe('end_turn');
  });

  it('a rule can ask for a call with a literal input, even after a tool result (a loop on purpose)', async () => {
    await fleet.control.setRules('claude', [{ name: 'always-bash', action: { respond: { tool_call: { name: 'Bash', input: { command: 'ls' } } } } }]);
    const msg = await claude.messages.create({
      ...anthropicAsk('x'),
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'pwd' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '/' }] },
      ],
    });
    expect(msg.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'Bash', input: { command: 'ls' } });
    const [entry] = await fleet.control.journal({ upstream: 'claude' });
    expect(entry.rule).toBe('always-bash');
  });

  it('follows tool_choice: none keeps text despite a marker, a named tool is called', async () => {
    const none = await claude.messages.create(anthropicAsk(`x ${TOOL_CALL_MARKER}`, { tool_choice: { type: 'none' } }));
    expect(none.stop_reason).toBe('end_turn');
    const named = await claude.messages.create(anthropicAsk('x', { tool_choice: { type: 'tool', name: 'Edit' } }));
    const call = named.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    expect(call.name).toBe('Edit');
    expectValid(schemaOfClaude('Edit'), call.input);
  });
});

describe('Chat Completions tool_calls', () => {
  const chatAsk = (text: string) => ({ model: 'gpt-5', tools: CHAT_TOOLS, messages: [{ role: 'user' as const, content: text }] });

  it('answers with text and finish_reason stop by default, stream and non-stream', async () => {
    const plain = await openai.chat.completions.create(chatAsk('say hi'));
    expect(plain.choices[0].finish_reason).toBe('stop');
    expect(plain.choices[0].message.tool_calls ?? []).toEqual([]);
    let finish: string | null | undefined;
    let sawToolDelta = false;
    for await (const chunk of await openai.chat.completions.create({ ...chatAsk('say hi'), stream: true })) {
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.choices[0]?.delta?.tool_calls) sawToolDelta = true;
    }
    expect([finish, sawToolDelta]).toEqual(['stop', false]);
  });

  it('streams tool_calls deltas when asked; the arguments join to an input valid for the schema', async () => {
    let args = '';
    let name: string | undefined;
    let finish: string | null | undefined;
    for await (const chunk of await openai.chat.completions.create({ ...chatAsk(`${TOOL_CALL_MARKER}=exec_command`), stream: true })) {
      for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
        name ??= d.function?.name;
        args += d.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect([name, finish]).toEqual(['exec_command', 'tool_calls']);
    expectValid(schemaOfCodex('exec_command'), JSON.parse(args));

    const plain = await openai.chat.completions.create(chatAsk(`${TOOL_CALL_MARKER}=update_goal`));
    const call = plain.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect([plain.choices[0].finish_reason, call.function.name]).toEqual(['tool_calls', 'update_goal']);
    expectValid(schemaOfCodex('update_goal'), JSON.parse(call.function.arguments));
  });

  it('answers a tool message with text', async () => {
    const res = await openai.chat.completions.create({
      model: 'gpt-5',
      tools: CHAT_TOOLS,
      tool_choice: 'auto',
      messages: [
        { role: 'user', content: `${TOOL_CALL_MARKER}` },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'exec_command', arguments: '{"cmd":"ls"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'a b c' },
      ],
    });
    expect(res.choices[0].finish_reason).toBe('stop');
  });
});

describe('Responses function_call', () => {
  const respAsk = (input: string) => ({ model: 'gpt-5.1-codex', tools: CODEX_TOOLS as OpenAI.Responses.Tool[], input });

  it('answers with a message and status completed by default, stream and non-stream', async () => {
    const plain = await responses.responses.create(respAsk('say hi'));
    expect(plain.status).toBe('completed');
    expect(plain.output.map((o) => o.type)).toEqual(['message']);
    const final = await responses.responses.stream(respAsk('say hi')).finalResponse();
    expect(final.output.map((o) => o.type)).toEqual(['message']);
  });

  it('streams a function_call item with arguments delta / done when asked', async () => {
    const stream = responses.responses.stream(respAsk(`${TOOL_CALL_MARKER}=exec_command`));
    let deltas = '';
    let done: string | undefined;
    stream.on('response.function_call_arguments.delta', (e) => (deltas += e.delta));
    stream.on('response.function_call_arguments.done', (e) => (done = e.arguments));
    const final = await stream.finalResponse();
    const call = final.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call.name).toBe('exec_command');
    expect([deltas, done]).toEqual([call.arguments, call.arguments]);
    expectValid(schemaOfCodex('exec_command'), JSON.parse(call.arguments));

    const plain = await responses.responses.create(respAsk(`${TOOL_CALL_MARKER}=view_image`));
    const item = plain.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call')!;
    expect(item.name).toBe('view_image');
    expectValid(schemaOfCodex('view_image'), JSON.parse(item.arguments));
  });

  it('answers a function_call_output with a message', async () => {
    const res = await responses.responses.create({
      model: 'gpt-5.1-codex',
      tools: CODEX_TOOLS as OpenAI.Responses.Tool[],
      input: [
        { role: 'user', content: `${TOOL_CALL_MARKER}=exec_command` },
        { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'a b c' },
      ],
    });
    expect(res.output.map((o) => o.type)).toEqual(['message']);
  });
});

describe('tool inputs over the schemas Claude Code and Codex send (property)', () => {
  const cases = [
    ...CLAUDE_TOOLS.map((t) => ({ client: 'claude-code', name: t.name, schema: t.input_schema ?? { type: 'object' } })),
    ...CODEX_FUNCTIONS.map((t) => ({ client: 'codex', name: t.name!, schema: t.parameters! })),
  ];

  it('covers every tool of both fixtures', () => {
    expect(CLAUDE_TOOLS.length).toBeGreaterThanOrEqual(10);
    expect(CODEX_FUNCTIONS.length).toBeGreaterThanOrEqual(7);
  });

  it.each(cases)('$client $name: every seed gives an input its schema accepts (required only, and with optionals)', ({ name, schema }) => {
    for (const optionalsProbability of [0, 0.5]) {
      for (let seed = 1; seed <= 25; seed++) expectValid(schema, validToolInput({ name, schema }, seed * 7919, { optionalsProbability }));
    }
  });

  it('through the mock: each Claude Code tool asked by name comes back valid', async () => {
    for (const tool of CLAUDE_TOOLS) {
      const msg = await claude.messages.create(anthropicAsk(`${TOOL_CALL_MARKER}=${tool.name}`));
      const call = msg.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
      expect(call.name).toBe(tool.name);
      expectValid(tool.input_schema, call.input);
    }
  });

  it('through the mock: each Codex function asked by name comes back valid', async () => {
    for (const tool of CODEX_FUNCTIONS) {
      const res = await responses.responses.create({ model: 'gpt-5.1-codex', tools: CODEX_TOOLS as OpenAI.Responses.Tool[], input: `${TOOL_CALL_MARKER}=${tool.name}` });
      const call = res.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call')!;
      expect(call.name).toBe(tool.name);
      expectValid(tool.parameters, JSON.parse(call.arguments));
    }
  });
});

/**
 * The promise, as a property: whatever a request offers (any subset of the tool lists
 * Claude Code and Codex really send, Codex's namespace and web_search included) and however a
 * call is asked for (marker, named marker, tool_choice required / named, a rule, an eager
 * upstream, nothing), over all three protocols, streamed or not, a tool call that comes back names
 * an offered tool and its input validates against that tool's schema. Deterministic (seeded).
 */
describe('property: no request that offers tools gets an invalid tool input', () => {
  type Ask = 'none' | 'marker' | 'named-marker' | 'required' | 'named-choice' | 'rule' | 'eager';
  const ASKS: Ask[] = ['none', 'marker', 'named-marker', 'required', 'named-choice', 'rule', 'eager'];
  const ROUNDS = 28;
  const NAMESPACE_FUNCTIONS = CODEX_TOOLS.filter((t) => t.type === 'namespace').flatMap((t) => (t as ResponsesTool & { tools: ResponsesTool[] }).tools);

  /** A non-empty random subset, in the order offered. */
  function subset<T>(random: () => number, items: T[]): T[] {
    const out = items.filter(() => random() < 0.4);
    return out.length > 0 ? out : [items[Math.floor(random() * items.length)]];
  }

  interface Offer {
    /** Callable tools offered: name -> schema. */
    schemas: Map<string, Record<string, unknown>>;
    prompt: string;
    choice?: string;
  }

  /** What to offer and how to ask; the upstream is set up for `rule` and `eager`. */
  async function plan(upstream: string, random: () => number, ask: Ask, callable: Array<{ name: string; schema: Record<string, unknown> }>): Promise<Offer> {
    await fleet.control.reset();
    const schemas = new Map(callable.map((t) => [t.name, t.schema]));
    const named = callable.length > 0 ? callable[Math.floor(random() * callable.length)].name : undefined;
    if (ask === 'rule') await fleet.control.setRules(upstream, [{ name: 'call-some-tool', action: { respond: { tool_call: {} } } }]);
    if (ask === 'eager') await fleet.control.configure(upstream, { tool_calls: { probability: 1 } });
    const prompt = ask === 'marker' ? `go ${TOOL_CALL_MARKER}` : ask === 'named-marker' && named ? `go ${TOOL_CALL_MARKER}=${named}` : 'go';
    return { schemas, prompt, choice: ask === 'required' ? 'required' : ask === 'named-choice' ? named : undefined };
  }

  function expectOfferedAndValid(offer: Offer, name: string, input: unknown): void {
    expect([...offer.schemas.keys()], `called ${name}`).toContain(name);
    expectValid(offer.schemas.get(name), input);
  }

  it('Codex namespace functions: the generator gives inputs their schemas accept too (never called by the mock, which offers no namespace calls)', () => {
    expect(NAMESPACE_FUNCTIONS.length).toBeGreaterThan(0);
    for (const t of NAMESPACE_FUNCTIONS) {
      for (let seed = 1; seed <= 25; seed++) expectValid(t.parameters, validToolInput({ name: t.name!, schema: t.parameters! }, seed * 7919, { optionalsProbability: 0.5 }));
    }
  });

  it('Anthropic (Claude Code tools), stream and non-stream', async () => {
    const random = seededRandom(1601);
    let calls = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const ask = ASKS[round % ASKS.length];
      const tools = subset(random, CLAUDE_TOOLS);
      const offer = await plan('claude', random, ask, tools.map((t) => ({ name: t.name, schema: t.input_schema ?? { type: 'object' } })));
      const body = {
        ...anthropicAsk(offer.prompt),
        tools: tools as Anthropic.Tool[],
        ...(offer.choice ? { tool_choice: offer.choice === 'required' ? { type: 'any' as const } : { type: 'tool' as const, name: offer.choice } } : {}),
      };
      const msg = round % 2 ? await claude.messages.create(body) : await claude.messages.stream(body).finalMessage();
      for (const b of msg.content) {
        if (b.type !== 'tool_use') continue;
        calls++;
        expectOfferedAndValid(offer, b.name, b.input);
      }
      expect(msg.stop_reason).toBe(ask === 'none' ? 'end_turn' : msg.content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
    }
    // Every asking round called (none of them may pass by answering text).
    expect(calls).toBe(ROUNDS - Math.ceil(ROUNDS / ASKS.length));
  });

  it('Chat Completions (Codex functions as chat tools), stream and non-stream', async () => {
    const random = seededRandom(1602);
    let calls = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const ask = ASKS[round % ASKS.length];
      const tools = subset(random, CHAT_TOOLS);
      const offer = await plan('chat', random, ask, tools.map((t) => ({ name: t.function.name, schema: t.function.parameters! })));
      const body = {
        model: 'gpt-5',
        tools,
        messages: [{ role: 'user' as const, content: offer.prompt }],
        ...(offer.choice ? { tool_choice: offer.choice === 'required' ? ('required' as const) : { type: 'function' as const, function: { name: offer.choice } } } : {}),
      };
      const got: Array<{ name: string; args: string }> = [];
      if (round % 2) {
        const res = await openai.chat.completions.create(body);
        for (const c of res.choices[0].message.tool_calls ?? []) if (c.type === 'function') got.push({ name: c.function.name, args: c.function.arguments });
      } else {
        for await (const chunk of await openai.chat.completions.create({ ...body, stream: true })) {
          for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
            if (d.function?.name) got.push({ name: d.function.name, args: '' });
            if (d.function?.arguments) got.at(-1)!.args += d.function.arguments;
          }
        }
      }
      for (const c of got) {
        calls++;
        expectOfferedAndValid(offer, c.name, JSON.parse(c.args));
      }
    }
    expect(calls).toBe(ROUNDS - Math.ceil(ROUNDS / ASKS.length));
  });

  it('Responses (Codex tools, namespace and web_search included), stream and non-stream', async () => {
    const random = seededRandom(1603);
    let calls = 0;
    let asked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const ask = ASKS[round % ASKS.length];
      const tools = subset(random, CODEX_TOOLS);
      const callable = tools.filter((t) => t.type === 'function' && t.parameters).map((t) => ({ name: t.name!, schema: t.parameters! }));
      const offer = await plan('responses', random, ask, callable);
      const body = {
        model: 'gpt-5.1-codex',
        tools: tools as OpenAI.Responses.Tool[],
        input: offer.prompt,
        ...(offer.choice ? { tool_choice: offer.choice === 'required' ? ('required' as const) : { type: 'function' as const, name: offer.choice } } : {}),
      };
      const res = round % 2 ? await responses.responses.create(body) : await responses.responses.stream(body).finalResponse();
      for (const item of res.output) {
        if (item.type !== 'function_call') continue;
        calls++;
        expectOfferedAndValid(offer, item.name, JSON.parse(item.arguments));
      }
      // A subset of only namespace / web_search tools has nothing the mock calls: text, as it should be.
      if (ask !== 'none' && callable.length > 0) asked++;
    }
    expect(asked).toBeGreaterThan(ROUNDS / 2);
    expect(calls).toBe(asked);
  });
});
