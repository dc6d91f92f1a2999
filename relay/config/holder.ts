/**
 * Holds the current configuration model and applies admin changes to it. Requests read
 * `holder.current` once at their start; a change swaps in a new model, so the next request sees
 * it. Changes are persisted through RecordStore.saveOverrides so they survive a restart:
 * pause/resume alone as paused flags (the file still applies), any other edit as the full layout.
 *
 * Versions: the layout's version is shared by every relay on the same record store (1 = the file
 * alone; each saved edit + 1). An edit may say which version it was made against
 * (`expectedVersion`); when the layout has moved on it is refused with StaleEditError (409, with
 * the current version). Every save is a compare-and-set on the document's revision, so two relays
 * editing at once never overwrite each other: the loser reloads and applies its edit again on
 * the latest layout, or is refused if it named a version.
 *
 * Credential state: a refreshed OAuth token is stored apart from the layout
 * (`ConfigOverrides.credentials`, per endpoint, with the fingerprint of the refresh token it was
 * obtained from). It applies only while the layout still holds that refresh token, so the YAML
 * file is never shadowed by a refresh, and a new token written in the file wins over it.
 *
 * A saved layout that no longer validates is logged and kept aside by the store (never silently
 * dropped); the relay runs on the file (with the saved pause flags) meanwhile.
 */
import type { Clock } from '../../lib/clock.js';
import { validateConfig } from '../../lib/yaml-config.js';
import type { ConfigOverrides, RecordStore, StoredCredential } from '../state/types.js';
import { compileConfig, tokenFingerprint, type RelayModel } from './model.js';
import { relayConfigSchema, type ParsedRelayConfig } from './schema.js';

export type ConfigListener = (model: RelayModel) => void;

/** Where the holder reports what an operator must know (the relay passes its logger). */
export interface ConfigHolderLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** An edit made against a layout version that is no longer the current one (HTTP 409). */
export class StaleEditError extends Error {
  constructor(
    readonly expected: number,
    readonly current: number,
  ) {
    super(`the layout changed since version ${expected}: the current version is ${current}; reload it and apply the edit again`);
  }
}

/** Attempts at a compare-and-set save before giving up (each loses only to another relay's save). */
const MAX_SAVE_ATTEMPTS = 5;

const silent: ConfigHolderLog = { warn: () => undefined, error: () => undefined };

export class ConfigHolder {
  private model: RelayModel;
  /** The layout as edited (file + admin edits), without credential state. */
  private layout: ParsedRelayConfig;
  private layoutEdited: boolean;
  private credentials: Record<string, StoredCredential>;
  /** The stored document's revision this holder last wrote or read (compare-and-set). */
  private revision: number;
  private queue: Promise<unknown> = Promise.resolve();
  private listeners: ConfigListener[] = [];
  private syncMs = 0;
  private lastSync = Number.NEGATIVE_INFINITY;
  private onSyncError: (err: Error) => void = () => undefined;
  /** Revisions whose invalid layout was already reported and kept aside. */
  private readonly setAside = new Set<number>();

  private constructor(
    private readonly base: ParsedRelayConfig,
    private readonly store: RecordStore,
    private readonly clock: Clock,
    private readonly log: ConfigHolderLog,
  ) {
    this.layout = base;
    this.layoutEdited = false;
    this.credentials = {};
    this.revision = 0;
    this.model = compileConfig(base, 1);
  }

  /** Starts from the file's config with any persisted admin changes applied on top. */
  static async open(base: ParsedRelayConfig, store: RecordStore, clock: Clock, log: ConfigHolderLog = silent): Promise<ConfigHolder> {
    const holder = new ConfigHolder(base, store, clock, log);
    const overrides = await store.loadOverrides();
    if (overrides) holder.adopt(overrides);
    return holder;
  }

  /**
   * Picks up admin changes another relay process saved to the shared record store since this
   * one last wrote or read them. Returns whether the layout changed.
   */
  refresh(): Promise<boolean> {
    return this.serial(() => this.pull());
  }

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async pull(): Promise<boolean> {
    const overrides = await this.store.loadOverrides();
    if (!overrides || revisionOf(overrides) === this.revision) return false;
    this.adopt(overrides);
    return true;
  }

  /** Makes a stored document the current state (open, pull, after a conflict). */
  private adopt(overrides: ConfigOverrides): void {
    const revision = revisionOf(overrides);
    let layout = this.base;
    let edited = false;
    if (overrides.layout !== undefined) {
      try {
        layout = validateConfig(overrides.layout, relayConfigSchema, 'saved admin layout');
        edited = true;
      } catch (err) {
        this.keepAside(overrides, revision, err as Error);
      }
    }
    this.layout = withPausedChannels(layout, new Set(overrides.pausedChannels));
    this.layoutEdited = edited;
    this.credentials = { ...(overrides.credentials ?? {}) };
    this.revision = revision;
    this.swapIn(versionOf(overrides));
  }

  /** A saved layout that does not validate (a schema change, a hand edit): logged, kept aside, never applied. */
  private keepAside(overrides: ConfigOverrides, revision: number, err: Error): void {
    if (this.setAside.has(revision)) return;
    this.setAside.add(revision);
    const reason = err.message;
    const report = (where: string | undefined) =>
      this.log.error(
        { reason, keptAt: where ?? 'nowhere (this record store cannot keep it)', version: versionOf(overrides) },
        'the saved admin layout does not validate: the relay runs on its config file (and the saved pause flags) until an admin edit saves a new one',
      );
    if (!this.store.keepAside) return report(undefined);
    this.store.keepAside(overrides, reason).then(report, (e: Error) => {
      report(undefined);
      this.log.error({ err: e.message }, 'could not keep the invalid saved layout aside');
    });
  }

  private swapIn(version: number): void {
    this.model = compileConfig(withCredentials(this.layout, this.credentials), version);
    for (const l of this.listeners) l(this.model);
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

  /** The layout as admins edit it: the file and the admin edits, without refreshed credentials. */
  get editableLayout(): ParsedRelayConfig {
    return this.layout;
  }

  onChange(listener: ConfigListener): void {
    this.listeners.push(listener);
  }

  /**
   * Applies an edit to a copy of the layout, validates it, persists it and swaps it in. Edits run
   * one at a time. Throws ConfigError (nothing changes) when the result is invalid, and
   * StaleEditError when `expectedVersion` is given and the layout is no longer at that version.
   */
  update(edit: (draft: ParsedRelayConfig) => void, kind: 'layout' | 'pause' = 'layout', expectedVersion?: number): Promise<RelayModel> {
    return this.serial(async () => {
      // With a shared store, a version check must see the latest layout, not this process's copy.
      if (expectedVersion !== undefined || this.syncMs > 0) await this.pull();
      for (let attempt = 1; ; attempt++) {
        if (expectedVersion !== undefined && expectedVersion !== this.model.version) throw new StaleEditError(expectedVersion, this.model.version);
        const draft = structuredClone(this.layout);
        edit(draft);
        const next = validateConfig(draft, relayConfigSchema, 'admin change');
        const edited = this.layoutEdited || kind === 'layout';
        const version = this.model.version + 1;
        if (await this.save({ layout: edited ? next : undefined, pausedChannels: pausedOf(next), version })) {
          this.layout = next;
          this.layoutEdited = edited;
          this.swapIn(version);
          return this.model;
        }
        // Another relay saved first: start again from what it saved.
        await this.pull();
        if (attempt >= MAX_SAVE_ATTEMPTS) throw new Error(`admin edit not saved: the layout changed under it ${attempt} times in a row`);
      }
    });
  }

  /**
   * Replaces the whole layout (PUT /admin/config). The billing and pass sections are kept when
   * the new layout leaves them out: they were opened at start, and a restart must not lose them.
   */
  replace(config: unknown, expectedVersion?: number): Promise<RelayModel> {
    const next = validateConfig(config, relayConfigSchema, 'admin config');
    return this.update(
      (draft) => {
        const { billing, pass } = draft;
        Object.assign(draft, next);
        if (next.billing === undefined) draft.billing = billing;
        if (next.pass === undefined) draft.pass = pass;
      },
      'layout',
      expectedVersion,
    );
  }

  /**
   * Stores an endpoint's refreshed OAuth credential as credential state (not a layout edit: the
   * version does not move and the file is not shadowed). Returns the model with it applied, or
   * undefined when the endpoint no longer exists.
   */
  storeCredential(endpoint: string, token: string, refreshToken: string | undefined): Promise<RelayModel | undefined> {
    return this.serial(async () => {
      for (let attempt = 1; ; attempt++) {
        const configured = findEndpoint(this.layout, endpoint);
        if (!configured) return undefined;
        const credential: StoredCredential = {
          token,
          ...(refreshToken !== undefined ? { refresh_token: refreshToken } : {}),
          from: credentialSource(configured),
          updatedAt: this.clock.now(),
        };
        const credentials = { ...this.credentials, [endpoint]: credential };
        if (await this.save({ layout: this.layoutEdited ? this.layout : undefined, pausedChannels: pausedOf(this.layout), version: this.model.version, credentials })) {
          this.credentials = credentials;
          this.swapIn(this.model.version);
          return this.model;
        }
        await this.pull();
        if (attempt >= MAX_SAVE_ATTEMPTS) throw new Error(`refreshed credential of ${endpoint} not saved: the record store changed under it ${attempt} times in a row`);
      }
    });
  }

  /** Re-reads the stored state (another relay may have refreshed a shared credential meanwhile). */
  reload(): Promise<RelayModel> {
    return this.serial(async () => {
      await this.pull();
      return this.model;
    });
  }

  /** Compare-and-set of the whole document on this holder's revision; false when another process saved first. */
  private async save(doc: Omit<ConfigOverrides, 'updatedAt' | 'revision'>): Promise<boolean> {
    const revision = this.revision + 1;
    const overrides: ConfigOverrides = {
      credentials: this.credentials,
      ...doc,
      revision,
      updatedAt: this.clock.now(),
    };
    if (!(await this.store.saveOverrides(overrides, this.revision))) return false;
    this.revision = revision;
    return true;
  }
}

/** A document from before revisions counts as revision 1 (and its layout as version 2). */
function revisionOf(o: ConfigOverrides): number {
  return o.revision ?? 1;
}

function versionOf(o: ConfigOverrides): number {
  return o.version ?? 2;
}

function pausedOf(config: ParsedRelayConfig): string[] {
  return config.channels.filter((c) => c.paused).map((c) => c.name);
}

function findEndpoint(config: ParsedRelayConfig, name: string) {
  for (const c of config.channels) for (const e of c.endpoints) if (e.name === name) return e;
  return undefined;
}

/** What a stored credential was obtained from: the layout's refresh token (or token), by fingerprint. */
function credentialSource(e: { token: string; refresh_token?: string }): string {
  return tokenFingerprint(e.refresh_token ?? e.token);
}

/** The layout with each stored credential applied where the layout still holds what it came from. */
function withCredentials(config: ParsedRelayConfig, credentials: Record<string, StoredCredential>): ParsedRelayConfig {
  if (Object.keys(credentials).length === 0) return config;
  return {
    ...config,
    channels: config.channels.map((c) => ({
      ...c,
      endpoints: c.endpoints.map((e) => {
        const stored = credentials[e.name];
        if (!stored || stored.from !== credentialSource(e)) return e;
        return { ...e, token: stored.token, ...(stored.refresh_token !== undefined ? { refresh_token: stored.refresh_token } : {}) };
      }),
    })),
  };
}

function withPausedChannels(config: ParsedRelayConfig, paused: Set<string>): ParsedRelayConfig {
  return { ...config, channels: config.channels.map((c) => ({ ...c, paused: paused.has(c.name) })) };
}
