/**
 * zod building blocks shared by every file format (mocks, relay, scenarios, benchmarks), so a
 * duration means the same thing and fails with the same message everywhere.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** A duration as written in a file (`1500`, `"250ms"`, `"15d"`), validated to milliseconds. */
export const durationSchema = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
