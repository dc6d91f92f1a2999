/** `/_r/<name>` routes: the same upstream under a base URL per endpoint, told apart in the journal. */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from './index.js';
import { splitRoute } from './server.js';

let fleet: MockFleet;
beforeAll(async () => {
  fleet = await startMocks({ upstreams: [{ name: 'shared', kind: 'claude', tokens: ['sk-ant-route-A', 'sk-ant-route-B'] }] });
});
afterAll(() => fleet.close());

describe('endpoint routes', () => {
  it('splits the route off the path, and leaves other paths alone', () => {
    expect(splitRoute('/_r/A/v1/messages')).toEqual({ route: 'A', path: '/v1/messages' });
    expect(splitRoute('/_r/ep%20one/v1/models')).toEqual({ route: 'ep one', path: '/v1/models' });
    expect(splitRoute('/v1/messages')).toEqual({ route: null, path: '/v1/messages' });
    expect(splitRoute('/_r//v1/messages')).toEqual({ route: null, path: '/_r//v1/messages' });
  });

  it('serves an SDK under a routed base URL and journals which route each call came in on', async () => {
    const base = fleet.get('shared').url;
    for (const [route, key] of [['A', 'sk-ant-route-A'], ['B', 'sk-ant-route-B']]) {
      const client = new Anthropic({ apiKey: key, baseURL: `${base}/_r/${route}`, maxRetries: 0 });
      const msg = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      expect(msg.type).toBe('message');
    }
    const journal = fleet.journal.list();
    expect(journal.map((j) => [j.route, j.path, j.credential])).toEqual([
      ['A', '/v1/messages', 'sk-ant-route-A'],
      ['B', '/v1/messages', 'sk-ant-route-B'],
    ]);
  });
});
