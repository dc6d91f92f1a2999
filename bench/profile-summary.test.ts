import { describe, expect, it } from 'vitest';
import { categoryOf } from './profile-summary.js';

describe('profile categories', () => {
  it("count the production build's bundle as relay code and undici's WebAssembly parser as undici, not startup", () => {
    expect(categoryOf('dist/relay/cli.js')).toBe('relay code');
    expect(categoryOf('relay/pipeline/handler.ts')).toBe('relay code');
    expect(categoryOf('wasm://wasm/00034eea')).toBe('undici (upstream client)');
    expect(categoryOf('node:internal/modules/esm/utils')).toMatch(/^startup/);
    expect(categoryOf('(writev)')).toBe('socket syscalls');
  });
});
