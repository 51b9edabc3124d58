/**
 * A PostgreSQL server for the tests that need one: `.ci/run` installs and starts it
 * (CARTULARY_TEST_POSTGRES names it; by default the local cluster's `cartulary` role). Each
 * test gets a database of its own. When no server answers, the suites that need one are
 * skipped with a message saying so — never passed in silence.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';

const ADMIN_URL = process.env.CARTULARY_TEST_POSTGRES ?? 'postgres://cartulary:cartulary@127.0.0.1:5432/postgres';

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();
/** Why PostgreSQL tests cannot run here, or null when they can. */
export const postgresMissing: string | null = unreachable && `PostgreSQL is not reachable at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} (${unreachable}): run .ci/run, which installs and starts it`;
if (postgresMissing) console.warn(`SKIPPING the PostgreSQL tests: ${postgresMissing}`);

const made: string[] = [];

/** A new, empty database on the test server, dropped when the test file ends. */
export async function freshDatabase(): Promise<string> {
  const name = `cartulary_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  made.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs SQL against a test database (to damage it, as an attacker or a failing disk would). */
export async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  if (made.length === 0) return;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    for (const name of made.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
});
