/**
 * LedgerStore on MySQL/MariaDB: every movement is one transaction that updates the balance and
 * inserts its ledger row, so several relay processes share balances safely.
 *   - reservation: `UPDATE accounts SET balance = balance - ? WHERE key_name = ? AND balance >= ?`
 *     (the check and the decrement are one statement; never check-then-increment), then the
 *     pending row and the precharge row, in the same transaction;
 *   - closing: `DELETE FROM pending WHERE request_id = ?`: only the transaction that deleted the
 *     row writes the settle/refund row; UNIQUE(request_id, kind) is the last line of defence.
 * Per-key totals of closing rows live in their own table, updated in the closing row's
 * transaction, so metrics read one row per key instead of aggregating the whole ledger; so do
 * the statistics' totals by UTC day, key, model, endpoint and route (`<prefix>billing_usage`).
 * Locks are always taken account row first, then pending row, then totals row, then usage row, and transactions run READ
 * COMMITTED, so concurrent movements queue on the account row instead of deadlocking; a deadlock
 * that still happens is retried.
 *
 * Complete answers are recorded in `<prefix>billing_completed` before their end is released to
 * the client, in groups: every record queued within COMPLETED_GROUP_MS goes in one INSERT, and
 * each waits for that INSERT's commit (not a transaction per answer). Recovery settles a dead
 * process's reservation from its record; records of closed reservations are pruned by the sweep.
 *
 * Each open store is one instance in `<prefix>billing_instances` with a lease it renews every
 * quarter lease; every pending row names its instance, so a process that dies is recognised by
 * its lease (instance-lease.ts), not by the age of its reservations.
 */
import { randomUUID } from 'node:crypto';
import { createPool, type Pool, type PoolConnection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { Usage } from '../../protocols/types.js';
import type {
  Balance, CloseInput, CloseResult, CompletedAnswer, LedgerKind, LedgerQuery, LedgerRow, LedgerStore, NewLedgerRow, PendingCharge, ReserveResult,
} from './ledger.js';
import { currentPidSpace, DEFAULT_INSTANCE_LEASE_MS, instancesHere, ownerIsGone, type InstanceRecord, type Self } from './instance-lease.js';
import type { Micros } from './money.js';
import { DAY_MS, dayOf, isClosingRow, type UsageGroup, type UsageTotals } from './stats.js';

export interface MysqlLedgerOptions {
  url: string;
  /** Table name prefix, e.g. `relay_` (tests use a unique one per run). */
  prefix?: string;
  connectionLimit?: number;
  /** How long this instance counts as alive after its last renewal (default 10 s). */
  leaseMs?: number;
}

/** How long a completion record waits for others to share its INSERT. */
const COMPLETED_GROUP_MS = 10;

/** Instances whose lease ran out this long ago are forgotten (their reservations were recovered). */
const FORGET_INSTANCES_AFTER_MS = 24 * 3600_000;

const DUPLICATE = 'ER_DUP_ENTRY';
const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

export class MysqlLedgerStore implements LedgerStore {
  private readonly pool: Pool;
  private readonly t: { accounts: string; ledger: string; pending: string; totals: string; usage: string; instances: string; completed: string };
  /** Completion records waiting for their group's INSERT, and the waiters. */
  private group: Array<{ c: CompletedAnswer; done: () => void; fail: (err: Error) => void }> = [];
  private groupTimer: ReturnType<typeof setTimeout> | undefined;
  readonly self: Self;
  readonly leaseMs: number;
  private heartbeat: ReturnType<typeof setInterval> | undefined;

  static async open(options: MysqlLedgerOptions): Promise<MysqlLedgerStore> {
    const store = new MysqlLedgerStore(options);
    try {
      await store.migrate();
      await store.register();
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private constructor(options: MysqlLedgerOptions) {
    const prefix = options.prefix ?? 'relay_';
    if (!/^[A-Za-z0-9_]*$/.test(prefix)) throw new Error(`invalid table prefix "${prefix}"`);
    this.t = {
      accounts: `${prefix}billing_accounts`, ledger: `${prefix}billing_ledger`, pending: `${prefix}billing_pending`, totals: `${prefix}billing_totals`, usage: `${prefix}billing_usage`,
      instances: `${prefix}billing_instances`, completed: `${prefix}billing_completed`,
    };
    this.self = { instanceId: randomUUID(), pidSpace: currentPidSpace(), pid: process.pid };
    this.leaseMs = options.leaseMs ?? DEFAULT_INSTANCE_LEASE_MS;
    this.pool = createPool({ uri: options.url, connectionLimit: options.connectionLimit ?? 8, supportBigNumbers: true, bigNumberStrings: false });
  }

  private async migrate(): Promise<void> {
    const { accounts, ledger, pending, totals } = this.t;
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${accounts} (
      key_name VARCHAR(191) NOT NULL PRIMARY KEY,
      balance BIGINT NOT NULL,
      updated_at BIGINT NOT NULL) ENGINE=InnoDB`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${ledger} (
      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      time BIGINT NOT NULL,
      key_name VARCHAR(191) NOT NULL,
      request_id VARCHAR(191) NOT NULL,
      kind VARCHAR(16) NOT NULL,
      amount BIGINT NOT NULL,
      cost BIGINT NULL,
      model VARCHAR(191) NULL,
      endpoint VARCHAR(191) NULL,
      path VARCHAR(512) NULL,
      price_version VARCHAR(64) NULL,
      rule VARCHAR(64) NULL,
      input_tokens BIGINT NULL,
      output_tokens BIGINT NULL,
      cache_write_tokens BIGINT NULL,
      cache_read_tokens BIGINT NULL,
      usage_estimated TINYINT NULL,
      UNIQUE KEY uniq_request_kind (request_id, kind),
      KEY by_key (key_name, id),
      KEY by_time (time)) ENGINE=InnoDB`);
    // Ledgers made before statistics read a part of a day by time.
    const [timeIndex] = await this.pool.query<RowDataPacket[]>(
      `SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = 'by_time'`,
      [ledger],
    );
    if (timeIndex.length === 0) {
      await this.pool.query(`ALTER TABLE ${ledger} ADD KEY by_time (time)`).catch((err: { code?: string }) => {
        if (err.code !== 'ER_DUP_KEYNAME') throw err; // another relay migrating at the same moment
      });
    }
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${pending} (
      request_id VARCHAR(191) NOT NULL PRIMARY KEY,
      key_name VARCHAR(191) NOT NULL,
      amount BIGINT NOT NULL,
      time BIGINT NOT NULL,
      model VARCHAR(191) NOT NULL,
      price_version VARCHAR(64) NOT NULL,
      estimated_input_tokens BIGINT NOT NULL,
      path VARCHAR(512) NULL,
      instance_id VARCHAR(64) NULL) ENGINE=InnoDB`);
    const [existing] = await this.pool.query<RowDataPacket[]>('SHOW TABLES LIKE ?', [totals]);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${totals} (
      key_name VARCHAR(191) NOT NULL PRIMARY KEY,
      requests BIGINT NOT NULL,
      input_tokens BIGINT NOT NULL,
      output_tokens BIGINT NOT NULL,
      cache_write_tokens BIGINT NOT NULL,
      cache_read_tokens BIGINT NOT NULL,
      cost BIGINT NOT NULL) ENGINE=InnoDB`);
    // A ledger written before the totals table existed: aggregate it once. INSERT IGNORE, so a
    // relay migrating at the same moment, or closing a request meanwhile, is never counted twice.
    if (existing.length === 0) {
      await this.pool.query(`INSERT IGNORE INTO ${totals} (key_name, requests, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost)
        SELECT key_name, COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_write_tokens), 0),
          COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cost), 0)
        FROM ${ledger} WHERE kind IN ('settle', 'refund', 'charge') GROUP BY key_name`);
    }
    const [usageExisting] = await this.pool.query<RowDataPacket[]>('SHOW TABLES LIKE ?', [this.t.usage]);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.t.usage} (
      group_id CHAR(64) NOT NULL PRIMARY KEY,
      day BIGINT NOT NULL,
      key_name VARCHAR(191) NOT NULL,
      model VARCHAR(191) NULL,
      endpoint VARCHAR(191) NULL,
      path VARCHAR(512) NULL,
      requests BIGINT NOT NULL,
      input_tokens BIGINT NOT NULL,
      output_tokens BIGINT NOT NULL,
      cache_write_tokens BIGINT NOT NULL,
      cache_read_tokens BIGINT NOT NULL,
      cost BIGINT NOT NULL,
      KEY by_day (day)) ENGINE=InnoDB`);
    // As for the totals: a ledger from before the usage table is aggregated once.
    if (usageExisting.length === 0) {
      await this.pool.query(`INSERT IGNORE INTO ${this.t.usage} (group_id, day, key_name, model, endpoint, path, requests, input_tokens, output_tokens,
          cache_write_tokens, cache_read_tokens, cost)
        SELECT ${groupIdSql('FLOOR(time / ' + DAY_MS + ')')}, FLOOR(time / ${DAY_MS}) AS d, key_name, model, endpoint, path, ${SUMS}
        FROM ${ledger} WHERE kind IN ('settle', 'refund', 'charge') GROUP BY d, key_name, model, endpoint, path`);
    }
    // Tables made before reservations named their instance: rows without one are recovered by age.
    const [cols] = await this.pool.query<RowDataPacket[]>(
      `SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'instance_id'`,
      [pending],
    );
    if (cols.length === 0) await this.pool.query(`ALTER TABLE ${pending} ADD COLUMN instance_id VARCHAR(64) NULL`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.t.instances} (
      instance_id VARCHAR(64) NOT NULL PRIMARY KEY,
      pid_space VARCHAR(255) NOT NULL,
      pid INT NOT NULL,
      lease_until BIGINT NOT NULL,
      started_at BIGINT NOT NULL) ENGINE=InnoDB`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.t.completed} (
      request_id VARCHAR(191) NOT NULL PRIMARY KEY,
      time BIGINT NOT NULL,
      endpoint VARCHAR(191) NULL,
      usage_json TEXT NULL,
      KEY by_time (time)) ENGINE=InnoDB`);
  }

  recordCompleted(c: CompletedAnswer): Promise<void> {
    return new Promise((done, fail) => {
      this.group.push({ c, done, fail });
      this.groupTimer ??= setTimeout(() => this.writeGroup(), COMPLETED_GROUP_MS);
    });
  }

  async completed(requestId: string): Promise<CompletedAnswer | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(`SELECT * FROM ${this.t.completed} WHERE request_id = ?`, [requestId]);
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return { requestId, endpoint: r.endpoint ?? undefined, usage: r.usage_json ? (JSON.parse(String(r.usage_json)) as Usage) : undefined };
  }

  /** One INSERT for every record queued since the last; each waiter hears its outcome. */
  private writeGroup(): void {
    this.groupTimer = undefined;
    const group = this.group;
    this.group = [];
    if (group.length === 0) return;
    const now = Date.now();
    const rows = group.map(({ c }) => [c.requestId, now, c.endpoint ?? null, c.usage ? JSON.stringify(c.usage) : null]);
    this.pool.query(`INSERT IGNORE INTO ${this.t.completed} (request_id, time, endpoint, usage_json) VALUES ?`, [rows]).then(
      () => group.forEach((w) => w.done()),
      (err: Error) => group.forEach((w) => w.fail(err)),
    );
  }

  /** Forgets completion records whose reservation is closed (kept a minute, for a settlement still in flight). */
  async pruneCompleted(): Promise<void> {
    await this.pool.execute(
      `DELETE c FROM ${this.t.completed} c LEFT JOIN ${this.t.pending} p ON p.request_id = c.request_id WHERE p.request_id IS NULL AND c.time < ?`,
      [Date.now() - 60_000],
    );
  }

  /** Registers this instance and renews its lease until shutdown. */
  private async register(): Promise<void> {
    const now = Date.now();
    instancesHere.add(this.self.instanceId);
    await this.pool.execute(`INSERT INTO ${this.t.instances} (instance_id, pid_space, pid, lease_until, started_at) VALUES (?, ?, ?, ?, ?)`, [
      this.self.instanceId, this.self.pidSpace, this.self.pid, now + this.leaseMs, now,
    ]);
    this.heartbeat = setInterval(() => {
      this.pool
        .execute(`UPDATE ${this.t.instances} SET lease_until = ? WHERE instance_id = ?`, [Date.now() + this.leaseMs, this.self.instanceId])
        .catch(() => undefined); // a missed renewal is covered by the next three
    }, Math.max(50, Math.floor(this.leaseMs / 4)));
    this.heartbeat.unref();
  }

  async ensureAccount(keyName: string, initial: Micros, time: number): Promise<boolean> {
    return this.tx(async (c) => {
      const [res] = await c.execute<ResultSetHeader>(`INSERT IGNORE INTO ${this.t.accounts} (key_name, balance, updated_at) VALUES (?, ?, ?)`, [keyName, initial, time]);
      if (res.affectedRows !== 1) return false;
      await this.insertRow(c, { time, keyName, requestId: `open:${keyName}`, kind: 'topup', amount: -initial });
      return true;
    });
  }

  async topup(keyName: string, amount: Micros, requestId: string, time: number): Promise<Micros> {
    return this.tx(async (c) => {
      const inserted = await this.insertRow(c, { time, keyName, requestId, kind: 'topup', amount: -amount }, true);
      if (inserted) {
        await c.execute(
          `INSERT INTO ${this.t.accounts} (key_name, balance, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance), updated_at = VALUES(updated_at)`,
          [keyName, amount, time],
        );
      }
      const [rows] = await c.execute<RowDataPacket[]>(`SELECT balance FROM ${this.t.accounts} WHERE key_name = ?`, [keyName]);
      return Number(rows[0]?.balance ?? 0);
    });
  }

  async hasAccount(keyName: string): Promise<boolean> {
    return (await this.balance(keyName)) !== undefined;
  }

  async reserve(p: PendingCharge): Promise<ReserveResult> {
    return this.tx(async (c) => {
      if (p.amount > 0) {
        const [res] = await c.execute<ResultSetHeader>(
          `UPDATE ${this.t.accounts} SET balance = balance - ?, updated_at = ? WHERE key_name = ? AND balance >= ?`,
          [p.amount, p.time, p.keyName, p.amount],
        );
        if (res.affectedRows === 0) {
          const [rows] = await c.execute<RowDataPacket[]>(`SELECT 1 FROM ${this.t.accounts} WHERE key_name = ?`, [p.keyName]);
          if (rows.length > 0) throw new Rollback('insufficient');
        }
      }
      try {
        await c.execute(
          `INSERT INTO ${this.t.pending} (request_id, key_name, amount, time, model, price_version, estimated_input_tokens, path, instance_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [p.requestId, p.keyName, p.amount, p.time, p.model, p.priceVersion, Math.ceil(p.estimatedInputTokens), p.path ?? null, this.self.instanceId],
        );
        await this.insertRow(c, { time: p.time, keyName: p.keyName, requestId: p.requestId, kind: 'precharge', amount: p.amount, model: p.model, path: p.path, priceVersion: p.priceVersion });
      } catch (err) {
        if ((err as { code?: string }).code === DUPLICATE) throw new Rollback('duplicate');
        throw err;
      }
      return 'ok' as const;
    }).catch((err: unknown) => {
      if (err instanceof Rollback) return err.result as ReserveResult;
      throw err;
    });
  }

  async close(input: CloseInput): Promise<CloseResult> {
    // Unlocked read to learn the account, so the account row can be locked first (lock order).
    const [found] = await this.pool.execute<RowDataPacket[]>(`SELECT key_name FROM ${this.t.pending} WHERE request_id = ?`, [input.requestId]);
    if (found.length === 0) return this.closedOrMissing(input.requestId);
    const keyName = String(found[0].key_name);
    const result = await this.tx(async (c): Promise<CloseResult> => {
      await c.execute(`SELECT balance FROM ${this.t.accounts} WHERE key_name = ? FOR UPDATE`, [keyName]);
      const [rows] = await c.execute<RowDataPacket[]>(`SELECT * FROM ${this.t.pending} WHERE request_id = ? FOR UPDATE`, [input.requestId]);
      if (rows.length === 0) return { status: 'already_closed' };
      const p = rows[0];
      await c.execute(`DELETE FROM ${this.t.pending} WHERE request_id = ?`, [input.requestId]);
      const amount = input.cost - Number(p.amount);
      if (amount !== 0) await c.execute(`UPDATE ${this.t.accounts} SET balance = balance - ?, updated_at = ? WHERE key_name = ?`, [amount, input.time, keyName]);
      const row: NewLedgerRow = {
        time: input.time, keyName, requestId: input.requestId, kind: input.kind, amount, cost: input.cost, model: String(p.model),
        endpoint: input.endpoint, path: p.path ?? undefined, usage: input.usage, priceVersion: String(p.price_version), rule: input.rule,
      };
      const id = await this.insertRow(c, row);
      return { status: 'closed', row: { id: id ?? 0, ...row } };
    });
    return result.status === 'already_closed' ? this.closedOrMissing(input.requestId) : result;
  }

  async charge(row: NewLedgerRow & { kind: 'charge' }): Promise<'ok' | 'duplicate'> {
    return this.tx(async (c) => {
      await c.execute(`SELECT balance FROM ${this.t.accounts} WHERE key_name = ? FOR UPDATE`, [row.keyName]);
      const id = await this.insertRow(c, row, true);
      if (id === undefined) return 'duplicate' as const;
      await c.execute(`UPDATE ${this.t.accounts} SET balance = balance - ?, updated_at = ? WHERE key_name = ?`, [row.amount, row.time, row.keyName]);
      return 'ok' as const;
    });
  }

  async pending(): Promise<PendingCharge[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.t.pending} ORDER BY time, request_id`);
    return rows.map(toPending);
  }

  async pendingCount(): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${this.t.pending}`);
    return Number(rows[0].n);
  }

  async totalsByKey(): Promise<Record<string, UsageTotals>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.t.totals}`);
    const out: Record<string, UsageTotals> = {};
    for (const r of rows) {
      out[String(r.key_name)] = {
        requests: Number(r.requests), inputTokens: Number(r.input_tokens), outputTokens: Number(r.output_tokens),
        cacheWriteTokens: Number(r.cache_write_tokens), cacheReadTokens: Number(r.cache_read_tokens), cost: Number(r.cost),
      };
    }
    return out;
  }

  async usageGroups(since?: number): Promise<UsageGroup[]> {
    // Whole days from the running totals (one row per group); a day that `since` cuts, summed by
    // the database from that day's rows only (by_time). The ledger's rows never reach the relay.
    const first = since === undefined ? undefined : dayOf(since);
    const cut = since !== undefined && since !== first! * DAY_MS;
    const fromDay = first === undefined ? undefined : cut ? first + 1 : first;
    const [whole] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM ${this.t.usage} ${fromDay !== undefined ? 'WHERE day >= ?' : ''}`,
      fromDay !== undefined ? [fromDay] : [],
    );
    let part: RowDataPacket[] = [];
    if (cut) {
      [part] = await this.pool.query<RowDataPacket[]>(
        `SELECT FLOOR(time / ${DAY_MS}) AS day, key_name, model, endpoint, path, ${SUMS}
          FROM ${this.t.ledger} WHERE time >= ? AND time < ? AND kind IN ('settle', 'refund', 'charge')
          GROUP BY day, key_name, model, endpoint, path`,
        [since, (first! + 1) * DAY_MS],
      );
    }
    return [...whole, ...part].map((r) => ({
      day: Number(r.day), keyName: String(r.key_name), model: r.model ?? undefined, endpoint: r.endpoint ?? undefined, path: r.path ?? undefined,
      totals: {
        requests: Number(r.requests), inputTokens: Number(r.input_tokens), outputTokens: Number(r.output_tokens),
        cacheWriteTokens: Number(r.cache_write_tokens), cacheReadTokens: Number(r.cache_read_tokens), cost: Number(r.cost),
      },
    }));
  }

  async orphaned(unownedBefore: number): Promise<PendingCharge[]> {
    const now = Date.now();
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT p.*, i.instance_id AS owner_id, i.pid_space, i.pid, i.lease_until FROM ${this.t.pending} p
        LEFT JOIN ${this.t.instances} i ON i.instance_id = p.instance_id
        WHERE (p.instance_id IS NULL AND p.time <= ?) OR (p.instance_id IS NOT NULL AND p.instance_id <> ?)
        ORDER BY p.time, p.request_id`,
      [unownedBefore, this.self.instanceId],
    );
    return rows
      .filter((r) => r.instance_id === null || ownerIsGone(r.owner_id === null ? undefined : toInstance(r), this.self, now))
      .map(toPending);
  }

  /** Forgets instances long dead (their reservations are recovered by then). */
  async forgetDeadInstances(): Promise<void> {
    await this.pool.execute(`DELETE FROM ${this.t.instances} WHERE lease_until < ?`, [Date.now() - FORGET_INSTANCES_AFTER_MS]);
  }

  async getPending(requestId: string): Promise<PendingCharge | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(`SELECT * FROM ${this.t.pending} WHERE request_id = ?`, [requestId]);
    return rows.length > 0 ? toPending(rows[0]) : undefined;
  }

  async balances(): Promise<Balance[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT key_name, balance FROM ${this.t.accounts} ORDER BY key_name`);
    return rows.map((r) => ({ keyName: String(r.key_name), balance: Number(r.balance) }));
  }

  async balance(keyName: string): Promise<Micros | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(`SELECT balance FROM ${this.t.accounts} WHERE key_name = ?`, [keyName]);
    return rows.length > 0 ? Number(rows[0].balance) : undefined;
  }

  async ledger(q: LedgerQuery = {}): Promise<LedgerRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.keyName !== undefined) (where.push('key_name = ?'), args.push(q.keyName));
    if (q.requestId !== undefined) (where.push('request_id = ?'), args.push(q.requestId));
    if (q.since !== undefined) (where.push('time >= ?'), args.push(q.since));
    if (q.kinds && q.kinds.length > 0) (where.push(`kind IN (${q.kinds.map(() => '?').join(', ')})`), args.push(...q.kinds));
    const cond = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const limit = q.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(q.limit))}` : '';
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM (SELECT * FROM ${this.t.ledger} ${cond} ORDER BY id DESC ${limit}) t ORDER BY id`, args);
    return rows.map(toLedgerRow);
  }

  async shutdown(): Promise<void> {
    clearTimeout(this.groupTimer);
    this.writeGroup();
    clearInterval(this.heartbeat);
    instancesHere.delete(this.self.instanceId);
    // Unregistered: whatever this process leaves pending is recovered by the next relay at once.
    await this.pool.execute(`DELETE FROM ${this.t.instances} WHERE instance_id = ?`, [this.self.instanceId]).catch(() => undefined);
    await this.pool.end();
  }

  /** Test helper: drop this store's tables. */
  async dropTables(): Promise<void> {
    await this.pool.query(
      `DROP TABLE IF EXISTS ${this.t.accounts}, ${this.t.ledger}, ${this.t.pending}, ${this.t.totals}, ${this.t.usage}, ${this.t.instances}, ${this.t.completed}`,
    );
  }

  private async closedOrMissing(requestId: string): Promise<CloseResult> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(`SELECT 1 FROM ${this.t.ledger} WHERE request_id = ? AND kind IN ('settle', 'refund') LIMIT 1`, [requestId]);
    return rows.length > 0 ? { status: 'already_closed' } : { status: 'not_found' };
  }

  /** Inserts a ledger row; with `ignoreDuplicate` a duplicate (request_id, kind) returns undefined. */
  private async insertRow(c: PoolConnection, r: NewLedgerRow, ignoreDuplicate = false): Promise<number | undefined> {
    try {
      const [res] = await c.execute<ResultSetHeader>(
        `INSERT INTO ${this.t.ledger} (time, key_name, request_id, kind, amount, cost, model, endpoint, path, price_version, rule,
          input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, usage_estimated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.time, r.keyName, r.requestId, r.kind, r.amount, r.cost ?? null, r.model ?? null, r.endpoint ?? null, r.path ?? null,
          r.priceVersion ?? null, r.rule ?? null, r.usage?.inputTokens ?? null, r.usage?.outputTokens ?? null,
          r.usage?.cacheWriteTokens ?? null, r.usage?.cacheReadTokens ?? null, r.usage ? (r.usage.estimated ? 1 : 0) : null,
        ],
      );
      if (isClosingRow(r)) await this.addToTotals(c, r);
      return res.insertId;
    } catch (err) {
      if (ignoreDuplicate && (err as { code?: string }).code === DUPLICATE) return undefined;
      throw err;
    }
  }

  /** The closing row's share of its key's totals and of its usage group, in the row's own transaction. */
  private async addToTotals(c: PoolConnection, r: NewLedgerRow): Promise<void> {
    const u = r.usage;
    const sums = [u?.inputTokens ?? 0, u?.outputTokens ?? 0, u?.cacheWriteTokens ?? 0, u?.cacheReadTokens ?? 0, r.cost ?? 0];
    await c.execute(
      `INSERT INTO ${this.t.totals} (key_name, requests, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost)
        VALUES (?, 1, ?, ?, ?, ?, ?) ${ADD_ON_DUPLICATE}`,
      [r.keyName, ...sums],
    );
    const group = [dayOf(r.time), r.keyName, r.model ?? null, r.endpoint ?? null, r.path ?? null];
    await c.execute(
      `INSERT INTO ${this.t.usage} (group_id, day, key_name, model, endpoint, path, requests, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost)
        VALUES (${groupIdSql('?', '?', '?', '?', '?')}, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?) ${ADD_ON_DUPLICATE}`,
      [...group, ...group, ...sums],
    );
  }

  private async tx<T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.getConnection();
      try {
        await c.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
        await c.beginTransaction();
        const out = await fn(c);
        await c.commit();
        return out;
      } catch (err) {
        await c.rollback().catch(() => undefined);
        if (attempt < 5 && RETRYABLE.has((err as { code?: string }).code ?? '')) continue;
        throw err;
      } finally {
        c.release();
      }
    }
  }
}

/** Adds a closing row's counts to an existing totals or usage row. */
const ADD_ON_DUPLICATE = `ON DUPLICATE KEY UPDATE requests = requests + 1, input_tokens = input_tokens + VALUES(input_tokens),
  output_tokens = output_tokens + VALUES(output_tokens), cache_write_tokens = cache_write_tokens + VALUES(cache_write_tokens),
  cache_read_tokens = cache_read_tokens + VALUES(cache_read_tokens), cost = cost + VALUES(cost)`;

/** The sums of closing rows, as the totals and usage tables hold them. */
const SUMS = `COUNT(*) AS requests, COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens,
  COALESCE(SUM(cache_write_tokens), 0) AS cache_write_tokens, COALESCE(SUM(cache_read_tokens), 0) AS cache_read_tokens, COALESCE(SUM(cost), 0) AS cost`;

/**
 * A usage group's key, computed by the database the same way for a new row and for the
 * migration's aggregate (NULL written as CHAR(1), which no name contains).
 */
function groupIdSql(day: string, key = 'key_name', model = 'model', endpoint = 'endpoint', path = 'path'): string {
  return `SHA2(CONCAT_WS(CHAR(0), ${day}, ${key}, IFNULL(${model}, CHAR(1)), IFNULL(${endpoint}, CHAR(1)), IFNULL(${path}, CHAR(1))), 256)`;
}

class Rollback {
  constructor(readonly result: string) {}
}

function toPending(r: RowDataPacket): PendingCharge {
  return {
    requestId: String(r.request_id), keyName: String(r.key_name), amount: Number(r.amount), time: Number(r.time), model: String(r.model),
    priceVersion: String(r.price_version), estimatedInputTokens: Number(r.estimated_input_tokens), path: r.path ?? undefined,
    ...(r.instance_id ? { owner: String(r.instance_id) } : {}),
  };
}

function toInstance(r: RowDataPacket): InstanceRecord {
  return { instanceId: String(r.owner_id), pidSpace: String(r.pid_space), pid: Number(r.pid), leaseUntil: Number(r.lease_until) };
}

function toLedgerRow(r: RowDataPacket): LedgerRow {
  const usage: Usage | undefined =
    r.input_tokens === null
      ? undefined
      : {
          inputTokens: Number(r.input_tokens), outputTokens: Number(r.output_tokens), cacheWriteTokens: Number(r.cache_write_tokens),
          cacheReadTokens: Number(r.cache_read_tokens), ...(r.usage_estimated ? { estimated: true } : {}),
        };
  const row: LedgerRow = {
    id: Number(r.id), time: Number(r.time), keyName: String(r.key_name), requestId: String(r.request_id), kind: String(r.kind) as LedgerKind,
    amount: Number(r.amount),
  };
  if (r.cost !== null) row.cost = Number(r.cost);
  if (r.model !== null) row.model = String(r.model);
  if (r.endpoint !== null) row.endpoint = String(r.endpoint);
  if (r.path !== null) row.path = String(r.path);
  if (r.price_version !== null) row.priceVersion = String(r.price_version);
  if (r.rule !== null) row.rule = String(r.rule);
  if (usage) row.usage = usage;
  return row;
}
