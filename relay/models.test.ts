/** GET /v1/models when neither the key nor the endpoints declare models: the upstream's list, passed through. */
import { afterEach, describe, expect, it } from 'vitest';
import type { MockFleet } from '../mocks/index.js';
import { admin, CLIENT_KEY, call, startStack, type TestStack } from './testing.js';

const CT = 'sk-ant-api03-models-claude-00001';
const OT = 'sk-proj-models-openai-000001';
let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('GET /v1/models without allow-lists', () => {
  it('passes the list of a usable upstream of the matching type through, in its own shape', async () => {
    stack = await startStack(
      {
        upstreams: [
          { name: 'claude', kind: 'claude', tokens: [CT], models: ['claude-upstream-1', 'claude-upstream-2'] },
          { name: 'openai', kind: 'openai', tokens: [OT], models: ['gpt-upstream-1'] },
        ],
      },
      (m: MockFleet) => ({
        channels: [
          {
            name: 'main',
            endpoints: [
              { name: 'C', type: 'claude', base_url: m.get('claude').url, token: CT },
              { name: 'O', type: 'openai', base_url: `${m.get('openai').url}/v1`, token: OT },
            ],
          },
        ],
      }),
    );
    const anth = await call(stack.relay.url, 'GET', '/v1/models', undefined, { 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' });
    expect(anth.status).toBe(200);
    expect(anth.json.data.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining(['claude-upstream-1', 'claude-upstream-2']));
    expect(anth.json.data[0].type).toBe('model');
    const oai = await call(stack.relay.url, 'GET', '/v1/models', undefined, { authorization: `Bearer ${CLIENT_KEY}` });
    expect(oai.status).toBe(200);
    expect(oai.json.object).toBe('list');
    expect(oai.json.data.map((d: { id: string }) => d.id)).toContain('gpt-upstream-1');
    // Each upstream was asked with its own token.
    const journal = await stack.mocks.control.journal({ path: '/v1/models' });
    expect(journal.map((e) => [e.upstream, e.credential])).toEqual([['claude', CT], ['openai', OT]]);

    // Declared models win again once an endpoint has a list; nothing is asked upstream.
    await admin(stack.relay, 'PATCH', '/admin/endpoints/O', { models: ['gpt-declared'] });
    await stack.mocks.control.resetJournal();
    const declared = await call(stack.relay.url, 'GET', '/v1/models', undefined, { authorization: `Bearer ${CLIENT_KEY}` });
    expect(declared.json.data.map((d: { id: string }) => d.id)).toEqual(['gpt-declared']);
    expect(await stack.mocks.control.journal()).toHaveLength(0);
  });
});
