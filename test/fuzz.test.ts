/** Hostile HTTP input over a real socket: no 5xx, no crash, no hang, problem+json everywhere. */
import { afterAll, describe, expect, it } from 'vitest';
import { fuzz, pressure } from '../scripts/lib/fuzz.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

let s: ServerFixture;
afterAll(() => s?.close());

describe('hostile input', () => {
  it('2,000 fuzzed requests to every route: no 5xx, every error problem+json, the tree grows only by accepted statements', async () => {
    s = await serverFixture();
    const r = await fuzz(s.url, 2000);
    expect(r.serverErrors).toEqual([]);
    expect(r.notProblemJson).toEqual([]);
    expect(r.hung).toEqual([]);
    expect(r.requests).toBe(2000);
    expect(r.accepted).toBeGreaterThan(0);
    expect(r.sizeAfter - r.sizeBefore).toBe(r.accepted);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('keeps answering others through a slow client and a flood of idle connections', async () => {
    const r = await pressure(s.url, { flood: 1000, trickleMs: 3000, requests: 100 });
    expect(r.flood).toBe(1000);
    expect(r.failed).toBe(0);
    expect(r.served).toBeGreaterThanOrEqual(100);
    expect(r.slowestMs).toBeLessThan(2000);
    expect(r.slowClient).toMatch(/^answered HTTP\/1.1 201/);
  });
});
