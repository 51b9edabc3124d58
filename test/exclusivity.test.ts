/**
 * The exclusivity index (issue 10.4) decides exactly as the plain rule does: random grants
 * and revocations on one work are sequenced by the real ledger (which reads candidates from
 * its LevelDB index) and replayed by a plain in-memory state (which examines every licence,
 * as audit and the offline verifier do). Every statement must get the same outcome from both.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { parseStatement } from '../src/core/cose.js';
import { applyStatement } from '../src/core/rules.js';
import { MemoryState } from '../src/core/state.js';
import { openLedger } from '../src/store/ledger.js';
import { party, stmt, tempDir } from './helpers.js';

// The ledger's clock is pinned a little after the signers' own (they stamp issuedAt with the real time).
const T0 = Date.now() + 60_000;
const DAY = 86_400_000;

const grant = fc.record({
  kind: fc.constant('grant' as const),
  uses: fc.subarray(['clip', 'stream', 'recap'], { minLength: 1 }),
  territories: fc.oneof(fc.constant(['*']), fc.subarray(['FR', 'BE', 'DE'], { minLength: 1 })),
  from: fc.integer({ min: 0, max: 20 }),
  days: fc.option(fc.integer({ min: 1, max: 15 }), { nil: undefined }),
  exclusive: fc.boolean(),
  licensee: fc.integer({ min: 0, max: 2 }),
});
const revoke = fc.record({ kind: fc.constant('revoke' as const), pick: fc.nat() });

describe('the exclusivity index', () => {
  it('accepts and refuses exactly what the plain rule does, for random grants and revocations', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof({ arbitrary: grant, weight: 4 }, { arbitrary: revoke, weight: 1 }), { minLength: 5, maxLength: 30 }), async (ops) => {
        const dir = await tempDir();
        let now = T0;
        const ledger = await openLedger({ dataDir: `${dir}/data`, keysDir: `${dir}/keys` }, { clock: () => now });
        const owner = party();
        const licensees = [party(), party(), party()];
        const plain = new MemoryState();
        const granted: string[] = [];
        const outcomes: Array<[string, string]> = [];
        try {
          const sequence = async (bytes: Uint8Array) => {
            now += 1;
            const index = ledger.sequencer.size;
            const real = await ledger.sequencer.submit(bytes).then((r) => r.receipt, (e: { code: string }) => e.code);
            let expected: string;
            try {
              const statement = parseStatement(bytes);
              const effects = applyStatement(plain, { statement, index, time: now });
              plain.apply(effects);
              expected = toHex(statement.id);
            } catch (e) {
              expected = (e as { code: string }).code;
            }
            outcomes.push([typeof real === 'string' ? real : real.id, expected]);
            return typeof real === 'string' ? null : real.id;
          };
          const work = await sequence(stmt.register(owner));
          for (const op of ops) {
            if (op.kind === 'grant') {
              const validFrom = T0 + 3_600_000 + op.from * DAY;
              const id = await sequence(
                stmt.license(owner, work!, licensees[op.licensee]!.id, {
                  uses: op.uses,
                  territories: op.territories,
                  validFrom,
                  ...(op.days ? { validUntil: validFrom + op.days * DAY } : {}),
                  exclusive: op.exclusive,
                }),
              );
              if (id) granted.push(id);
            } else if (granted.length > 0) {
              await sequence(stmt.revoke(owner, granted[op.pick % granted.length]!));
            }
          }
        } finally {
          await ledger.close();
        }
        for (const [real, expected] of outcomes) expect(real).toBe(expected);
        for (const [real] of outcomes) seen.set(real.length === 64 ? 'accepted' : real, (seen.get(real.length === 64 ? 'accepted' : real) ?? 0) + 1);
      }),
      { numRuns: 40 },
    );
    // The property was exercised both ways: grants that stood and grants refused as overlapping.
    expect(seen.get('accepted')).toBeGreaterThan(100);
    expect(seen.get('conflict')).toBeGreaterThan(20);
  });
});
