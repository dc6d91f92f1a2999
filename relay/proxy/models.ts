/**
 * GET /v1/models: the models the key may use. The key's allow-list if it has one, else what the
 * endpoints declare (allow-lists and model_map names); when they declare nothing, the relay asks
 * a usable upstream of the matching type and passes its list through, so an SDK's model picker
 * is never empty just because the relay was configured without lists.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { upstreamAuthHeaders } from '../../protocols/auth.js';
import type { ErrorReply } from '../../protocols/types.js';
import type { EndpointModel, KeyModel, RelayModel } from '../config/model.js';
import type { EndpointType } from '../config/schema.js';
import { orderChannels, usability } from '../routing/planner.js';
import type { RelayRuntime } from '../pipeline/runtime.js';

/** The model ids the relay can name itself (empty when neither key nor endpoints declare any). */
export function declaredModels(config: RelayModel, key: KeyModel): string[] {
  if (key.models) return [...key.models].sort();
  const all = new Set<string>();
  for (const c of config.channels) {
    if (c.paused) continue;
    for (const e of c.endpoints) {
      e.models?.forEach((m) => all.add(m));
      e.modelMap.forEach((_, m) => all.add(m));
    }
  }
  return [...all].sort();
}

export function modelsReply(ids: string[], anthropicStyle: boolean): ErrorReply {
  if (anthropicStyle) {
    const data = ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' }));
    return { status: 200, headers: {}, body: { data, has_more: false, first_id: ids[0] ?? null, last_id: ids[ids.length - 1] ?? null } };
  }
  return { status: 200, headers: {}, body: { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1735689600, owned_by: 'relaylab' })) } };
}

const CLAUDE_TYPES: ReadonlySet<EndpointType> = new Set(['claude']);
const OPENAI_TYPES: ReadonlySet<EndpointType> = new Set(['openai', 'openai-responses']);

/** Usable endpoints of the matching type, in channel (strategy) order. */
async function listingCandidates(rt: RelayRuntime, config: RelayModel, anthropicStyle: boolean): Promise<EndpointModel[]> {
  const types = anthropicStyle ? CLAUDE_TYPES : OPENAI_TYPES;
  const eps = config.channels.filter((c) => !c.paused).flatMap((c) => c.endpoints.filter((e) => types.has(e.type)));
  if (eps.length === 0) return [];
  const now = rt.clock.now();
  const states = await rt.live.readEndpoints(eps.map((e) => ({ endpoint: e.name, channel: e.channel, tokenId: e.tokenId })), now);
  const live = new Map(states.map((s) => [s.endpoint, s]));
  const out: EndpointModel[] = [];
  for (const c of orderChannels(config, live)) {
    for (const e of [...c.endpoints].sort((a, b) => a.priority - b.priority || a.order - b.order)) {
      if (types.has(e.type) && usability(live.get(e.name), now) !== 'no') out.push(e);
    }
  }
  return out;
}

function modelsPath(ep: EndpointModel): string {
  const prefix = ep.pathPrefix;
  return prefix.endsWith('/v1') ? `${prefix}/models` : `${prefix}/v1/models`;
}

/** Asks up to two usable upstreams for their list; undefined when none answered 200 with JSON. */
export async function upstreamModels(
  rt: RelayRuntime,
  config: RelayModel,
  anthropicStyle: boolean,
  clientHeaders: IncomingHttpHeaders,
  requestId: string,
): Promise<ErrorReply | undefined> {
  const candidates = (await listingCandidates(rt, config, anthropicStyle)).slice(0, 2);
  for (const ep of candidates) {
    const headers: Record<string, string> = {
      ...upstreamAuthHeaders(ep.type, ep.token, { accountId: ep.accountId }),
      accept: 'application/json',
      'x-request-id': requestId,
    };
    if (ep.type === 'claude') headers['anthropic-version'] = String(clientHeaders['anthropic-version'] ?? '2023-06-01');
    const ac = new AbortController();
    const timer = rt.clock.setTimeout(() => ac.abort(), config.retry.first_byte_timeout);
    try {
      const res = await rt.pools.get(ep.origin).request({ method: 'GET', path: modelsPath(ep), headers, signal: ac.signal });
      const text = await res.body.text();
      if (res.statusCode !== 200) continue;
      return { status: 200, headers: {}, body: JSON.parse(text) };
    } catch {
      // Unreachable or not JSON: the next one, else the relay's own (empty) list.
    } finally {
      timer.cancel();
    }
  }
  return undefined;
}
