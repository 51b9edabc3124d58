/** Signature-level attacks over real HTTP: every one refused, nothing changed. */
import { afterAll, describe, expect, it } from 'vitest';
import { runAttacks } from '../scripts/lib/attacks.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

let s: ServerFixture;
afterAll(() => s?.close());

describe('signature-level attacks', () => {
  it('every attack is refused and changes nothing', async () => {
    s = await serverFixture();
    const results = await runAttacks(s.url);
    expect(results.length).toBeGreaterThanOrEqual(10);
    expect(results.filter((r) => !r.held)).toEqual([]);
  });
});
