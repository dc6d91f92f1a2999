/**
 * chatgpt-oauth endpoints: after a 401, trade the configured refresh token for a new access token
 * at the upstream's /oauth/token, store it through the config holder as credential state (so every
 * later request, a restart and the relays sharing the records use it, and the layout and its
 * config file stay as they were), and let the caller retry once. Concurrent 401s share one
 * refresh; a relay sharing the records that refreshed first is found before asking again
 * (a refresh token may be good for one use only).
 */
import type { ConfigHolder } from '../config/holder.js';
import type { EndpointModel } from '../config/model.js';
import type { Logger } from '../pipeline/runtime.js';
import type { UpstreamPools } from './pools.js';

/** The Codex CLI's public OAuth client id; upstreams that check it expect this one. */
export const CODEX_CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';

export function createTokenRefresher(
  holder: ConfigHolder,
  pools: UpstreamPools,
  logger: Logger,
): (ep: EndpointModel) => Promise<EndpointModel | undefined> {
  const inFlight = new Map<string, Promise<EndpointModel | undefined>>();

  async function refresh(ep: EndpointModel): Promise<EndpointModel | undefined> {
    const current = (await holder.reload()).endpoints.get(ep.name);
    if (!current) return undefined;
    // Someone refreshed (or an admin changed the token) since this attempt started.
    if (current.token !== ep.token) return current;
    if (!current.refreshToken) return undefined;
    const resp = await pools.get(current.origin).request({
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: current.refreshToken, client_id: CODEX_CLIENT_ID, scope: 'openid profile email' }),
    });
    const text = await resp.body.text();
    if (resp.statusCode !== 200) {
      logger.warn({ endpoint: ep.name, status: resp.statusCode }, 'oauth refresh failed');
      return undefined;
    }
    let data: { access_token?: unknown; refresh_token?: unknown };
    try {
      data = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof data.access_token !== 'string' || data.access_token === '') return undefined;
    const access = data.access_token;
    const nextRefresh = typeof data.refresh_token === 'string' && data.refresh_token ? data.refresh_token : current.refreshToken;
    const model = await holder.storeCredential(ep.name, access, nextRefresh);
    logger.info({ endpoint: ep.name }, 'oauth access token refreshed');
    return model?.endpoints.get(ep.name);
  }

  return (ep) => {
    let p = inFlight.get(ep.name);
    if (!p) {
      p = refresh(ep).finally(() => inFlight.delete(ep.name));
      inFlight.set(ep.name, p);
    }
    return p;
  };
}
