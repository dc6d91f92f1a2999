/**
 * RecordStore on MySQL/MariaDB, shared by every relay process that uses the same database.
 *
 *   <prefix>relay_overrides  one row (id 1): the overrides document as JSON, with updated_at and
 *                            its revision (saves are a compare-and-set on it)
 *   <prefix>relay_overrides_rejected  saved documents whose layout stopped validating, by revision
 *   <prefix>relay_requests   one row per client request: indexed columns to filter on and the
 *                            whole entry as JSON
 *
 * The request log is written in multi-row INSERTs, every flushEveryMs or flushRows rows, never
 * awaited by the request that produced the entry; a failed batch is reported and dropped (the log
 * is a record, not a ledger). Queries first wait for this process's queued rows, so a client that
 * just got an answer finds its request in the log.
 */
import { createPool, type Pool, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { SystemClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import { effectiveLimit } from './request-log.js';
import type { ConfigOverrides, RecordStore, RequestLogEntry, RequestLogQuery } from './types.js';

export interface MysqlRecordStoreOptions {
  /** Table name prefix (letters, digits, underscore); tests use a unique one per run. */
  prefix?: string;
  flushEveryMs?: number;
  flushRows?: number;
  onError?: (err: Error) => void;
  /** Request-log rows kept; older ones are deleted now and then (default 1,000,000). */
  retainRows?: number;
}

/** Rows per INSERT statement, well under max_allowed_packet for ordinary entries. */
const MAX_ROWS_PER_INSERT = 500;
/** Retention runs after this many batches, not after every insert. */
const PRUNE_EVERY_BATCHES = 50;
/** Endpoint names are stored between separators so LOCATE matches whole names only. */
const SEP = '\n';

export class MysqlRecordStore implements RecordStore {
  private readonly overridesTable: string;
  private readonly rejectedTable: string;
  private readonly requestsTable: string;
  private readonly flushEveryMs: number;
  private readonly flushRows: number;
  private readonly onError: (err: Error) => void;
  private readonly ioClock: Clock = new SystemClock();
  private pending: RequestLogEntry[] = [];
  private batchTimer: TimerHandle | undefined;
  private writes: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly retainRows: number;
  private batchesSincePrune = 0;

  /** Connects and creates the tables if they are missing. */
  static async open(url: string, options: MysqlRecordStoreOptions = {}): Promise<MysqlRecordStore> {
    checkPrefix(options.prefix ?? '');
    // Pool size 4: log batches are serialised, so more connections only serve admin queries.
    const pool = createPool({ uri: url, connectionLimit: 4, charset: 'utf8mb4', enableKeepAlive: true });
    const store = new MysqlRecordStore(pool, options);
    try {
      await store.createTables();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(`cannot prepare MySQL record store: ${(err as Error).message}`);
    }
    return store;
  }

  constructor(
    private readonly pool: Pool,
    options: MysqlRecordStoreOptions = {},
  ) {
    const prefix = checkPrefix(options.prefix ?? '');
    this.overridesTable = `\`${prefix}relay_overrides\``;
    this.rejectedTable = `\`${prefix}relay_overrides_rejected\``;
    this.requestsTable = `\`${prefix}relay_requests\``;
    this.flushEveryMs = options.flushEveryMs ?? 200;
    this.flushRows = options.flushRows ?? 200;
    this.retainRows = options.retainRows ?? 1_000_000;
    this.onError = options.onError ?? ((err) => process.stderr.write(`relay record store (mysql): ${err.message}\n`));
  }

  async createTables(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.overridesTable} (
        id TINYINT NOT NULL PRIMARY KEY,
        doc LONGTEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        revision BIGINT NOT NULL DEFAULT 1
      ) DEFAULT CHARSET=utf8mb4`,
    );
    // A table from before revisions: its row counts as revision 1, as the document does.
    const [cols] = await this.pool.query<RowDataPacket[]>(
      `SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'revision'`,
      [this.overridesTable.slice(1, -1)],
    );
    if (cols.length === 0) {
      await this.pool.query(`ALTER TABLE ${this.overridesTable} ADD COLUMN revision BIGINT NOT NULL DEFAULT 1`).catch((err: { code?: string }) => {
        if (err.code !== 'ER_DUP_FIELDNAME') throw err; // another relay migrating at the same moment
      });
    }
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.rejectedTable} (
        revision BIGINT NOT NULL PRIMARY KEY,
        doc LONGTEXT NOT NULL,
        reason TEXT NOT NULL,
        kept_at BIGINT NOT NULL
      ) DEFAULT CHARSET=utf8mb4`,
    );
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.requestsTable} (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        request_id VARCHAR(128) NOT NULL,
        time BIGINT NOT NULL,
        key_name VARCHAR(191) NOT NULL,
        endpoints TEXT NOT NULL,
        entry LONGTEXT NOT NULL,
        KEY idx_time (time),
        KEY idx_key_time (key_name, time)
      ) DEFAULT CHARSET=utf8mb4`,
    );
  }

  async loadOverrides(): Promise<ConfigOverrides | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT doc FROM ${this.overridesTable} WHERE id = 1`);
    return rows.length ? (JSON.parse(rows[0].doc as string) as ConfigOverrides) : undefined;
  }

  async saveOverrides(overrides: ConfigOverrides, expectedRevision?: number): Promise<boolean> {
    const doc = JSON.stringify(overrides);
    const revision = overrides.revision ?? 1;
    if (expectedRevision === undefined) {
      await this.pool.query(
        `INSERT INTO ${this.overridesTable} (id, doc, updated_at, revision) VALUES (1, ?, ?, ?)
         ON DUPLICATE KEY UPDATE doc = VALUES(doc), updated_at = VALUES(updated_at), revision = VALUES(revision)`,
        [doc, overrides.updatedAt, revision],
      );
      return true;
    }
    // Compare-and-set: the first document only if none exists, a later one only over the revision it was made from.
    const [res] =
      expectedRevision === 0
        ? await this.pool.query<ResultSetHeader>(`INSERT IGNORE INTO ${this.overridesTable} (id, doc, updated_at, revision) VALUES (1, ?, ?, ?)`, [doc, overrides.updatedAt, revision])
        : await this.pool.query<ResultSetHeader>(`UPDATE ${this.overridesTable} SET doc = ?, updated_at = ?, revision = ? WHERE id = 1 AND revision = ?`, [
            doc, overrides.updatedAt, revision, expectedRevision,
          ]);
    return res.affectedRows === 1;
  }

  async keepAside(overrides: ConfigOverrides, reason: string): Promise<string> {
    const revision = overrides.revision ?? 1;
    await this.pool.query(`INSERT IGNORE INTO ${this.rejectedTable} (revision, doc, reason, kept_at) VALUES (?, ?, ?, ?)`, [
      revision, JSON.stringify(overrides), reason, Date.now(),
    ]);
    return `MySQL table ${this.rejectedTable.slice(1, -1)}, revision ${revision}`;
  }

  appendRequestLog(entry: RequestLogEntry): void {
    if (this.closed) return;
    this.pending.push(entry);
    if (this.pending.length >= this.flushRows) this.writeBatch();
    else this.batchTimer ??= this.ioClock.setTimeout(() => this.writeBatch(), this.flushEveryMs);
  }

  async flush(): Promise<void> {
    this.writeBatch();
    await this.writes;
  }

  async queryRequestLog(query: RequestLogQuery): Promise<RequestLogEntry[]> {
    await this.flush();
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.since !== undefined) {
      where.push('time >= ?');
      params.push(query.since);
    }
    if (query.keyName !== undefined) {
      where.push('key_name = ?');
      params.push(query.keyName);
    }
    if (query.endpoint !== undefined) {
      where.push('LOCATE(?, endpoints) > 0');
      params.push(`${SEP}${query.endpoint}${SEP}`);
    }
    params.push(effectiveLimit(query));
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT entry FROM ${this.requestsTable} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      params,
    );
    return rows.map((r) => JSON.parse(r.entry as string) as RequestLogEntry).reverse();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.pool.end();
  }

  /** Drops this store's tables (tests). */
  async dropTables(): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS ${this.overridesTable}, ${this.rejectedTable}, ${this.requestsTable}`);
  }

  private writeBatch(): void {
    this.batchTimer?.cancel();
    this.batchTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writes = this.writes.then(() => this.insert(batch)).catch((err: Error) => this.onError(err));
  }

  private async insert(batch: RequestLogEntry[]): Promise<void> {
    for (let i = 0; i < batch.length; i += MAX_ROWS_PER_INSERT) {
      const rows = batch.slice(i, i + MAX_ROWS_PER_INSERT).map((e) => [
        e.requestId,
        e.time,
        e.keyName,
        SEP + e.attempts.map((a) => a.endpoint).join(SEP) + SEP,
        JSON.stringify(e),
      ]);
      const [result] = await this.pool.query<ResultSetHeader>(
        `INSERT INTO ${this.requestsTable} (request_id, time, key_name, endpoints, entry) VALUES ?`,
        [rows],
      );
      // insertId is the first id of a multi-row insert, so the newest is insertId + rows - 1.
      if (++this.batchesSincePrune >= PRUNE_EVERY_BATCHES) {
        this.batchesSincePrune = 0;
        await this.prune(result.insertId + rows.length - 1);
      }
    }
  }

  /** Keeps the newest retainRows rows (ids are monotonic; several writers only make it approximate). */
  async prune(newestId?: number): Promise<void> {
    let newest = newestId;
    if (newest === undefined) {
      const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT MAX(id) AS id FROM ${this.requestsTable}`);
      newest = Number(rows[0]?.id ?? 0);
    }
    const cutoff = newest - this.retainRows;
    if (cutoff > 0) await this.pool.query(`DELETE FROM ${this.requestsTable} WHERE id <= ?`, [cutoff]);
  }
}

function checkPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_]*$/.test(prefix)) throw new Error(`invalid table prefix "${prefix}" (letters, digits, _ only)`);
  return prefix;
}
