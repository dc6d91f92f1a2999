/**
 * PassTaskStore on MySQL, so relay processes sharing one database see each other's tasks
 * (`GET /pass/tasks/:id` on any of them) and a task outlives the process that submitted it. Every
 * process's poller polls all active tasks; settling is idempotent in the ledger, so two pollers
 * finishing the same task charge it once.
 */
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import type { PassTask, PassTaskStore } from './tasks.js';

export class MysqlPassTaskStore implements PassTaskStore {
  private readonly pool: Pool;
  private readonly table: string;

  static async open(o: { url: string; prefix?: string }): Promise<MysqlPassTaskStore> {
    const store = new MysqlPassTaskStore(o.url, o.prefix ?? 'relay_');
    await store.pool.query(`CREATE TABLE IF NOT EXISTS ${store.table} (
      id VARCHAR(191) NOT NULL PRIMARY KEY,
      key_name VARCHAR(191) NOT NULL,
      billed TINYINT NOT NULL,
      updated_at BIGINT NOT NULL,
      data MEDIUMTEXT NOT NULL,
      KEY active (billed)) ENGINE=InnoDB`);
    return store;
  }

  private constructor(url: string, prefix: string) {
    if (!/^[A-Za-z0-9_]*$/.test(prefix)) throw new Error(`invalid table prefix "${prefix}"`);
    this.table = `${prefix}pass_tasks`;
    this.pool = createPool({ uri: url, connectionLimit: 4 });
  }

  async put(task: PassTask): Promise<void> {
    await this.pool.execute(
      `INSERT INTO ${this.table} (id, key_name, billed, updated_at, data) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE billed = VALUES(billed), updated_at = VALUES(updated_at), data = VALUES(data)`,
      [task.id, task.keyName, task.billed ? 1 : 0, task.updatedAt, JSON.stringify(task)],
    );
  }

  async get(id: string): Promise<PassTask | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(`SELECT data FROM ${this.table} WHERE id = ?`, [id]);
    return rows.length > 0 ? (JSON.parse(String(rows[0].data)) as PassTask) : undefined;
  }

  async has(id: string): Promise<boolean> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(`SELECT 1 FROM ${this.table} WHERE id = ?`, [id]);
    return rows.length > 0;
  }

  async active(): Promise<PassTask[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT data FROM ${this.table} WHERE billed = 0`);
    return rows.map((r) => JSON.parse(String(r.data)) as PassTask);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Test helper. */
  async dropTable(): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS ${this.table}`);
  }
}
