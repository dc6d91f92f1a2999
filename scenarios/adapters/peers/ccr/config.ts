/**
 * A relaylab layout as claude-code-router's config.json.
 *
 * claude-code-router takes Anthropic Messages requests and sends each to one "provider,model":
 * the route its Router picks (`Router.default`, or `Router.background` for a Claude haiku model),
 * then that route's `fallback` list in order when the provider answers an error. So the fallback
 * order of the layout's claude endpoints (`fallbackChainFor`: unpaused channels by priority,
 * endpoints by priority, failover participation applied) becomes one provider per endpoint, the
 * first as the default route and the rest as its fallback list. `api_base_url` is the endpoint's
 * full API URL; claude endpoints keep the Anthropic format (the `Anthropic` transformer), openai
 * endpoints get claude-code-router's translation to Chat Completions.
 *
 * A layout with no claude endpoint routes every request to its openai endpoints. A layout with
 * both gives the openai ones the `background` route, so that a step written for an OpenAI client
 * and played as an Anthropic request (engine/played-protocol.ts) reaches the endpoints it is
 * about: the adapter names a haiku model for it (`PLAYED_MODEL`), which claude-code-router's
 * router sends to `Router.background`, and its fallback list is `fallback.background`. The
 * reference relay sends Anthropic requests to claude endpoints only, so the default route keeps
 * them.
 *
 * The layout's timeouts cannot be configured: claude-code-router 2.0 has no upstream timeout.
 *
 * It has one client key (`APIKEY`): the layout's first key, and every key name maps to it.
 * The router, not the client, picks the model sent upstream: the endpoint's first model, or a
 * default per kind when it serves every model.
 */
import { fallbackChainFor, type Layout, type LayoutEndpoint } from '../../api.js';
import type { UpstreamKind } from '../../../../protocols/index.js';
import { UNCONFIGURED_PROVIDER, type CcrConfig } from './server.js';

const DEFAULT_MODEL: Partial<Record<UpstreamKind, string>> = { claude: 'claude-sonnet-4-5', openai: 'gpt-4o-mini' };

/**
 * Each kind's provider transformer: claude endpoints keep the Anthropic format; openai endpoints
 * get `streamoptions`, which asks a Chat stream for its usage (`stream_options.include_usage`),
 * as an operator must: without it the upstream streams no usage and claude-code-router tells its
 * Anthropic client 0 input and 0 output tokens.
 */
const TRANSFORMER: Partial<Record<UpstreamKind, string>> = { claude: 'Anthropic', openai: 'streamoptions' };

/** Upstream kinds an Anthropic request reaches: natively, else through translation. */
const NATIVE: readonly UpstreamKind[] = ['claude'];
export const TRANSLATED: readonly UpstreamKind[] = ['openai'];

/** claude-code-router splits "provider,model" at the first comma. */
export function providerName(endpoint: string): string {
  return endpoint.replace(/,/g, '_');
}

function modelOf(e: LayoutEndpoint): string {
  return e.models[0] ?? DEFAULT_MODEL[e.kind]!;
}

function provider(e: LayoutEndpoint): CcrConfig['Providers'][number] {
  return {
    name: providerName(e.name),
    api_base_url: e.url!,
    api_key: e.token,
    models: [modelOf(e)],
    ...{ transformer: { use: [TRANSFORMER[e.kind]!] } },
  };
}

/** The endpoints that serve Anthropic requests, in fallback order. */
export function servingChain(layout: Layout): LayoutEndpoint[] {
  const byName = new Map(layout.channels.flatMap((c) => c.endpoints).map((e) => [e.name, e]));
  const chain = layout.fallback_chain.map((n) => byName.get(n)).filter((e): e is LayoutEndpoint => e !== undefined && !!e.url);
  const native = chain.filter((e) => NATIVE.includes(e.kind));
  return native.length ? native : chain.filter((e) => TRANSLATED.includes(e.kind));
}

/**
 * The model a request played for openai endpoints names: claude-code-router sends a model whose
 * name holds "claude" and "haiku" to `Router.background` (its route for Claude Code's background
 * requests), and the config gives that route the openai endpoints.
 */
export const PLAYED_MODEL = 'claude-haiku-4-5';

/** The endpoints of `kinds`, in their fallback order, that have an API URL to send to. */
function chainOf(layout: Layout, kinds: readonly UpstreamKind[]): LayoutEndpoint[] {
  return fallbackChainFor(layout, kinds).filter((e) => !!e.url);
}

/** The whole config.json for a layout; `base` keeps what relaylab does not decide (HOST, PORT). */
export function ccrConfig(layout: Layout, base: Pick<CcrConfig, 'HOST' | 'PORT'>): CcrConfig {
  const native = chainOf(layout, NATIVE);
  const translated = chainOf(layout, TRANSLATED);
  const main = native.length ? native : translated;
  // The openai endpoints get a route of their own only beside claude ones (else they are the default).
  const background = native.length ? translated : [];
  const route = (e: LayoutEndpoint) => `${providerName(e.name)},${modelOf(e)}`;
  const providers = [...new Map([...main, ...background].map((e) => [e.name, e])).values()];
  return {
    HOST: base.HOST,
    PORT: base.PORT,
    APIKEY: layout.keys[0]?.key,
    // Its log records request headers, upstream credentials included: off.
    LOG: false,
    // No upstream timeout: API_TIMEOUT_MS is handed to the Claude Code that `ccr code` starts (its
    // client timeout), not used by the router, whose upstream calls time out after an hour; the
    // layout's timeouts have no place here.
    // With no provider at all it would listen on 0.0.0.0 without a key: keep one that goes nowhere.
    Providers: providers.length ? providers.map(provider) : [UNCONFIGURED_PROVIDER],
    Router: {
      default: main.length ? route(main[0]) : `${UNCONFIGURED_PROVIDER.name},${UNCONFIGURED_PROVIDER.models[0]}`,
      ...(background.length ? { background: route(background[0]) } : {}),
    },
    fallback: { default: main.slice(1).map(route), ...(background.length ? { background: background.slice(1).map(route) } : {}) },
  };
}
