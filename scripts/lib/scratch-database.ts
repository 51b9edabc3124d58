/**
 * A PostgreSQL database of a script's own on a server it is given, dropped afterwards, so a
 * benchmark or a crash test never writes into a database that holds anything else.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

async function admin<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const hidden = (url: string) => url.replace(/:[^:@/]*@/, ':***@');

/**
 * Runs `work` with the URL of a new database on `server` (any database URL there the role may
 * create databases from), then drops it. Resolves the reason, a string, when no server answers.
 */
export async function withScratchDatabase<T>(server: string, prefix: string, work: (url: string) => Promise<T>): Promise<T | string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  try {
    await admin(server, (c) => c.query(`CREATE DATABASE ${name}`));
  } catch (e) {
    return `no PostgreSQL server at ${hidden(server)}: ${(e as Error).message}`;
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  try {
    return await work(url.toString());
  } finally {
    await admin(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined);
  }
}
