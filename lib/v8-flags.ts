/**
 * V8 settings for the mock upstreams' process (`pnpm mocks`), applied at its start.
 *
 * Allocation-site pretenuring: V8 allocates an allocation site's objects straight in the old
 * generation once enough of them survived a young collection. Under load the mock's request path
 * gets sites pretenured, and from then on short-lived request objects are allocated old: 4 MB
 * promoted per young collection (5 ms each, 0.3 ms for a bare node:http server) and a full
 * collection every ~0.6 s. Off: 33 -> 22 µs of CPU per request at 50 connections (mocks/README.md).
 * Objects that do live long (the journal) are still promoted after surviving young collections.
 * The relay measured the same with and without it, so only the mock sets it.
 */
import { setFlagsFromString } from 'node:v8';

/** Applies the settings to this process; call before the server takes load. */
export function tuneV8ForServing(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
