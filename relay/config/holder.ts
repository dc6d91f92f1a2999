/**
 * Holds the current configuration model and applies admin changes to it. Requests read
 * `holder.current` once at their start; a change swaps in a new model (version + 1), so the
 * next request sees it. Changes are persisted through RecordStore.saveOverrides so they
 * survive a restart: pause/resume alone as paused flags (the file still applies), any other
 * edit as the full layout.
 */
import type { Clock } from '../../lib/clock.js';
import { validateConfig } from '../../lib/yaml-config.js';
import type { ConfigOverrides, RecordStore } from '../state/types.js';
import { compileConfig, type RelayModel } from './model.js';
import { relayConfigSchema, type ParsedRelayConfig } from './schema.js';

export type ConfigListener = (model: RelayModel) => void;

export class ConfigHolder {
  private model: RelayModel;
  private layoutEdited: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  private listeners: ConfigListener[] = [];
  /** updatedAt of the overrides this holder last wrote or applied. */
  private seen: number;
  private syncMs = 0;
  private lastSync = Number.NEGATIVE_INFINITY;
  private onSyncError: (err: Error) => void = () => undefined;

  private constructor(
    private readonly base: ParsedRelayConfig,
    overrides: ConfigOverrides | undefined,
    private readonly store: RecordStore,
    private readonly clock: Clock,
  ) {
    const { config, edited } = applyOverrides(base, overrides);
    this.model = compileConfig(config, 1);
    this.layoutEdited = edited;
    this.seen = overrides?.updatedAt ?? 0;
  }

  /** Starts from the file's config with any persisted admin changes applied on top. */
  static async open(base: ParsedRelayConfig, store: RecordStore, clock: Clock): Promise<ConfigHolder> {
    return new ConfigHolder(base, await store.loadOverrides(), store, clock);
  }

  /**
   * Picks up admin changes another relay process saved to the shared record store since this
   * one last wrote or read them. Returns whether the layout changed.
   */
  refresh(): Promise<boolean> {
    const run = () => this.pull();
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async pull(): Promise<boolean> {
    const overrides = await this.store.loadOverrides();
    if (!overrides || overrides.updatedAt <= this.seen) return false;
    const { config, edited } = applyOverrides(this.base, overrides);
    this.seen = overrides.updatedAt;
    this.layoutEdited = edited;
    this.model = compileConfig(config, this.model.version + 1);
    for (const l of this.listeners) l(this.model);
    return true;
  }

  /** Lets `maybeRefresh` look for other processes' edits at most every `ms` (0 = never). */
  syncEvery(ms: number, onError?: (err: Error) => void): void {
    this.syncMs = ms;
    if (onError) this.onSyncError = onError;
  }

  /**
   * Called by requests: starts a background refresh when the last one is older than the sync
   * interval. Never awaited on the hot path; the change applies from the next request on. Driven
   * by requests rather than a timer, so a test clock advanced by days does not fire it millions of times.
   */
  maybeRefresh(now: number): void {
    if (this.syncMs <= 0 || now - this.lastSync < this.syncMs) return;
    this.lastSync = now;
    this.refresh().catch((err: Error) => this.onSyncError(err));
  }

  get current(): RelayModel {
    return this.model;
  }

  onChange(listener: ConfigListener): void {
    this.listeners.push(listener);
  }

  /**
   * Applies an edit to a copy of the layout, validates it, swaps it in and persists it.
   * Edits run one at a time. Throws ConfigError (nothing changes) when the result is invalid.
   */
  update(edit: (draft: ParsedRelayConfig) => void, kind: 'layout' | 'pause' = 'layout'): Promise<RelayModel> {
    const run = async () => {
      // With a shared store, edit the latest layout, not a stale copy another process has since changed.
      if (this.syncMs > 0) await this.pull();
      const draft = structuredClone(this.model.source);
      edit(draft);
      const next = validateConfig(draft, relayConfigSchema, 'admin change');
      this.model = compileConfig(next, this.model.version + 1);
      if (kind === 'layout') this.layoutEdited = true;
      for (const l of this.listeners) l(this.model);
      const overrides = this.overrides();
      this.seen = Math.max(this.seen, overrides.updatedAt);
      await this.store.saveOverrides(overrides);
      return this.model;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Replaces the whole layout (PUT /admin/config). The billing and pass sections are kept when
   * the new layout leaves them out: they were opened at start, and a restart must not lose them.
   */
  replace(config: unknown): Promise<RelayModel> {
    const next = validateConfig(config, relayConfigSchema, 'admin config');
    return this.update((draft) => {
      const { billing, pass } = draft;
      Object.assign(draft, next);
      if (next.billing === undefined) draft.billing = billing;
      if (next.pass === undefined) draft.pass = pass;
    });
  }

  private overrides(): ConfigOverrides {
    const source = this.model.source;
    return {
      layout: this.layoutEdited ? source : undefined,
      pausedChannels: source.channels.filter((c) => c.paused).map((c) => c.name),
      // Strictly increasing, so another process can tell two quick edits apart.
      updatedAt: Math.max(this.clock.now(), this.seen + 1),
    };
  }
}

function applyOverrides(base: ParsedRelayConfig, overrides: ConfigOverrides | undefined): { config: ParsedRelayConfig; edited: boolean } {
  let config = base;
  let edited = false;
  if (overrides?.layout) {
    try {
      config = validateConfig(overrides.layout, relayConfigSchema, 'saved admin layout');
      edited = true;
    } catch {
      // A saved layout that no longer validates (schema changed) must not stop the relay.
      config = base;
    }
  }
  if (overrides) config = withPausedChannels(config, new Set(overrides.pausedChannels));
  return { config, edited };
}

function withPausedChannels(config: ParsedRelayConfig, paused: Set<string>): ParsedRelayConfig {
  return { ...config, channels: config.channels.map((c) => ({ ...c, paused: paused.has(c.name) })) };
}
