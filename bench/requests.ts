/**
 * The requests a benchmark sends. Each is a small, fixed, valid body for its wire protocol,
 * addressed either straight to a mock upstream (with the upstream's token) or to a relay (with
 * the relay's client key); the only difference between "direct" and "relay" is the origin and
 * the credential, so the measured difference is the relay.
 */
import type { ProtocolId, UpstreamKind } from '../protocols/types.js';
import { agentRequestFactory } from './agent-requests.js';
import type { ContentProtocol } from './first-content.js';

/** `agent`: Claude Code and Codex CLI alike, ~100 kB bodies, a request of its own each time (agent-requests.ts). */
export type RequestName = 'chat' | 'chat-stream' | 'messages' | 'messages-stream' | 'agent';

export interface HttpRequestSpec {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Request i of a run when each one differs (the agent mix); else every request is this one. */
  nth?: (i: number) => HttpRequestSpec;
}

export interface RequestShape {
  /** The mock upstream kind that serves it directly. */
  upstreamKind: UpstreamKind;
  protocol: ContentProtocol;
  stream: boolean;
}

export const REQUEST_SHAPES: Record<RequestName, RequestShape> = {
  chat: { upstreamKind: 'openai', protocol: 'openai-chat', stream: false },
  'chat-stream': { upstreamKind: 'openai', protocol: 'openai-chat', stream: true },
  messages: { upstreamKind: 'claude', protocol: 'anthropic', stream: false },
  'messages-stream': { upstreamKind: 'claude', protocol: 'anthropic', stream: true },
  // Two protocols and two upstreams (claude, openai-responses): through a relay only, open load only.
  agent: { upstreamKind: 'claude', protocol: 'anthropic', stream: false },
};

/**
 * The bytes that mark each protocol's terminal stream event, for the streaming load client (which
 * counts events without decoding them). Both spellings of the SSE field are accepted, since a
 * third-party relay may write `data:[DONE]` without the optional space.
 */
export const TERMINAL_MARKERS: Record<ProtocolId, readonly string[]> = {
  'openai-chat': ['data: [DONE]', 'data:[DONE]'],
  anthropic: ['event: message_stop', 'event:message_stop'],
  'openai-responses': ['event: response.completed', 'event:response.completed'],
  'custom-pass': [],
};

export const BENCH_MODELS: Record<'openai' | 'claude', string> = { openai: 'gpt-4o-mini', claude: 'claude-sonnet-4-5' };

export interface RequestOptions {
  credential: string;
  /** Output tokens asked for (max_tokens); the mock emits up to this many. */
  maxTokens?: number;
}

export function buildRequest(name: RequestName, opts: RequestOptions): HttpRequestSpec {
  const maxTokens = opts.maxTokens ?? 16;
  const prompt = [{ role: 'user', content: 'Say hello to the benchmark.' }];
  switch (name) {
    case 'agent': {
      const nth = agentRequestFactory(opts.credential);
      return { ...nth(0), nth };
    }
    case 'chat':
    case 'chat-stream': {
      const stream = name === 'chat-stream';
      const body: Record<string, unknown> = { model: BENCH_MODELS.openai, messages: prompt, max_tokens: maxTokens };
      if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
      return {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.credential}` },
        body: JSON.stringify(body),
      };
    }
    case 'messages':
    case 'messages-stream': {
      const body: Record<string, unknown> = { model: BENCH_MODELS.claude, max_tokens: maxTokens, messages: prompt };
      if (name === 'messages-stream') body.stream = true;
      return {
        method: 'POST',
        path: '/v1/messages',
        headers: { 'content-type': 'application/json', 'x-api-key': opts.credential, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(body),
      };
    }
  }
}
