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

  private constructor(
    initial: ParsedRelayConfig,
    layoutEdited: boolean,
    private readonly store: RecordStore,
    private readonly clock: Clock,
  ) {
    this.model = compileConfig(initial, 1);
    this.layoutEdited = layoutEdited;
  }

  /** Starts from the file's config with any persisted admin changes applied on top. */
  static async open(base: ParsedRelayConfig, store: RecordStore, clock: Clock): Promise<ConfigHolder> {
    const overrides = await store.loadOverrides();
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
    return new ConfigHolder(config, edited, store, clock);
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
      const draft = structuredClone(this.model.source);
      edit(draft);
      const next = validateConfig(draft, relayConfigSchema, 'admin change');
      this.model = compileConfig(next, this.model.version + 1);
      if (kind === 'layout') this.layoutEdited = true;
      for (const l of this.listeners) l(this.model);
      await this.store.saveOverrides(this.overrides());
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
      updatedAt: this.clock.now(),
    };
  }
}

function withPausedChannels(config: ParsedRelayConfig, paused: Set<string>): ParsedRelayConfig {
  return { ...config, channels: config.channels.map((c) => ({ ...c, paused: paused.has(c.name) })) };
}
