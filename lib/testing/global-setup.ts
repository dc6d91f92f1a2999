/**
 * vitest global setup: makes sure the Redis and MySQL backends are tested wherever possible.
 *
 * Order: REDIS_URL / MYSQL_URL from the environment (CI and this project's machines run both
 * servers locally); else, when a Docker engine answers, throw-away containers started with
 * testcontainers; else the tests run on the in-memory/embedded backends only, and this says so
 * once, loudly, instead of skipping in silence.
 *
 * Variables set here are inherited by the forked test workers, which start after it.
 */
import type { StartedTestContainer } from 'testcontainers';

async function dockerEngineAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5_000)),
    ]);
    return true;
  } catch {
    return false;
  }
}

export default async function setup(): Promise<(() => Promise<void>) | void> {
  const needRedis = !process.env.REDIS_URL;
  const needMysql = !process.env.MYSQL_URL;
  if (!needRedis && !needMysql) return;
  if (!(await dockerEngineAnswers())) {
    const missing = [needRedis && 'REDIS_URL', needMysql && 'MYSQL_URL'].filter(Boolean).join(' and ');
    console.warn(`\n[relaylab] ${missing} unset and no Docker engine: the Redis/MySQL store tests run only on in-memory/embedded backends.\n`);
    return;
  }
  const { GenericContainer, Wait } = await import('testcontainers');
  const started: StartedTestContainer[] = [];
  if (needRedis) {
    const redis = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    started.push(redis);
    process.env.REDIS_URL = `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`;
  }
  if (needMysql) {
    const mysql = await new GenericContainer('mariadb:11')
      .withEnvironment({ MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1', MARIADB_DATABASE: 'test' })
      .withExposedPorts(3306)
      .withWaitStrategy(Wait.forLogMessage(/ready for connections/, 2))
      .start();
    started.push(mysql);
    process.env.MYSQL_URL = `mysql://root@${mysql.getHost()}:${mysql.getMappedPort(3306)}/test`;
  }
  return async () => {
    for (const c of started) await c.stop();
  };
}
