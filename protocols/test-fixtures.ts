/** Shared inputs for the protocol tests (not shipped logic). */
import type { GeneratedContent, ResponseIds, Usage } from './types.js';

export const IDS: ResponseIds = { id: 'abc123', created: 1_763_800_000 };

export const TEXT: GeneratedContent = {
  tokens: ['Hel', 'lo', ', ', 'wör', 'ld', ' 🌍', '!'],
  stopReason: 'end_turn',
};

export const TOOL: GeneratedContent = {
  tokens: ['Let', ' me', ' check'],
  toolCall: {
    id: 'tc1',
    name: 'get_weather',
    input: { city: 'Paris', unit: 'c' },
    argumentChunks: ['{"city":', ' "Paris"', ', "unit": "c"}'],
  },
  stopReason: 'tool_use',
};

export const USAGE: Usage = { inputTokens: 42, outputTokens: 7, cacheWriteTokens: 0, cacheReadTokens: 5 };
export const USAGE_WITH_WRITE: Usage = { inputTokens: 42, outputTokens: 7, cacheWriteTokens: 11, cacheReadTokens: 5 };

export const TOOLS_ANTHROPIC = [{ name: 'get_weather', description: 'w', input_schema: { type: 'object', properties: {} } }];
export const TOOLS_OPENAI = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
export const TOOLS_RESPONSES = [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }];
