/**
 * relaylab adapter for claude-code-router, a model for relays configured by a file and a restart.
 *
 *   pnpm peer ccr --port 3456 &
 *   pnpm conformance --target http://127.0.0.1:3456 --adapter ./scenarios/adapters/peers/ccr/adapter.ts
 *
 * configure and every change write `$HOME/.claude-code-router/config.json` (./config.ts) and
 * restart the relay as `ccr restart` does; `--adapter-option home=<dir>` names that HOME
 * (default: the one `pnpm peer ccr` uses). The relay takes Anthropic requests only and
 * translates to OpenAI Chat upstreams; it has one client key, no virtual clock, no request
 * records or endpoint state, and none of sticky sessions, health probes, billing, custom-pass or
 * ChatGPT OAuth, so the engine skips what depends on those.
 */
import { defineAdapter, type Layout } from '../../api.js';
import { ccrConfig, PLAYED_MODEL, TRANSLATED } from './config.js';
import { defaultCcrHome, readConfig, restartCcr, writeConfig } from './server.js';

export default defineAdapter(({ target, options }) => {
  if (!target) throw new Error('ccr adapter: needs --target <router url> (pnpm peer ccr starts one)');
  const home = options.home ?? defaultCcrHome();
  const running = readConfig(home);
  if (!running) throw new Error(`ccr adapter: no claude-code-router config in ${home} (start it with pnpm peer ccr, or pass --adapter-option home=<its HOME>)`);
  let layout: Layout | undefined;
  // The key the running instance checks: the file runs ahead of it until a restart succeeds.
  let keyInForce = running.APIKEY;

  let inForce = '';

  /**
   * Writes the layout as config.json and restarts onto it (a restart costs seconds, so only when
   * the config changed, or when asked to restart); returns the client key now in force.
   */
  const push = async (l: Layout, restart = false): Promise<string | undefined> => {
    const next = ccrConfig(l, { HOST: running.HOST, PORT: running.PORT });
    const text = JSON.stringify(next);
    layout = l;
    if (text === inForce && !restart) return keyInForce;
    writeConfig(home, next);
    await restartCcr(home);
    keyInForce = next.APIKEY;
    inForce = text;
    return next.APIKEY;
  };

  return {
    name: 'ccr',
    capabilities: {
      inbound: ['anthropic'],
      translates: { anthropic: TRANSLATED },
      keys: 'mapped',
      clock: 'none',
      restart: true,
      records: false,
      features: ['admin_tokens', 'pause', 'cross_channel'],
    },
    // A step written for OpenAI clients, played as an Anthropic request, is about the openai
    // endpoints: the model its router sends to them (config.ts).
    playedModel: (_sent, kinds) => (kinds.every((k) => TRANSLATED.includes(k)) ? PLAYED_MODEL : undefined),
    async configure(l) {
      const key = await push(l);
      return key ? { keys: Object.fromEntries(l.keys.map((k) => [k.name, key])) } : undefined;
    },
    async apply(change) {
      // Every change is the whole layout written again; a restart restarts even when nothing changed.
      await push(change.kind === 'restart' ? (layout ?? change.layout) : change.layout, change.kind === 'restart');
    },
  };
});
