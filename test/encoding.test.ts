/** Deterministic CBOR (RFC 8949 §4.2.1) and safe decoding. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { decodeCbor, encodeCbor } from '../src/core/cbor.js';

const dec = (hex: string) => decodeCbor(Uint8Array.from(Buffer.from(hex, 'hex')), { maxBytes: 1 << 20 });

describe('deterministic CBOR encoding', () => {
  it('encodes RFC 8949 Appendix A values in their preferred (shortest) form', () => {
    const vectors: Array<[unknown, string]> = [
      [0, '00'], [23, '17'], [24, '1818'], [100, '1864'], [1000, '1903e8'], [1000000, '1a000f4240'],
      [1000000000000, '1b000000e8d4a51000'], [-1, '20'], [-1000, '3903e7'], ['IETF', '6449455446'],
      [[1, [2, 3], [4, 5]], '8301820203820405'], [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
      [new Uint8Array([1, 2, 3, 4]), '4401020304'], [null, 'f6'], [true, 'f5'], [1.5, 'f93e00'],
    ];
    for (const [value, hex] of vectors) expect(toHex(encodeCbor(value)), JSON.stringify(value)).toBe(hex);
  });

  it('sorts map keys bytewise by their encoding, whatever the insertion order', () => {
    expect(toHex(encodeCbor({ bb: 1, a: 2, c: 3 }))).toBe('a3616102616303626262' + '01');
    expect(toHex(encodeCbor(new Map<number, number>([[4, 0], [-8, 0], [1, 0]])))).toBe('a3010004002700');
  });

  it('writes millisecond timestamps as integers, not floats', () => {
    expect(toHex(encodeCbor(1_795_000_000_000))).toBe('1b000001a1ee565e00');
  });

  it('decodes non-deterministic but well-formed CBOR (liberal input)', () => {
    expect(dec('1a00000001')).toBe(1); // non-shortest integer
    expect(dec('a2616202616101')).toEqual({ b: 2, a: 1 }); // unsorted keys
    expect(dec('9f0102ff')).toEqual([1, 2]); // indefinite-length array
  });

  it('refuses trailing bytes, truncation, duplicate keys, undefined and deep nesting', () => {
    expect(() => dec('0102')).toThrow(/does not decode/);
    expect(() => dec('83010203ff')).toThrow(/does not decode/);
    expect(() => dec('8301')).toThrow(/does not decode/);
    expect(() => dec('a2616101616102')).toThrow(/does not decode/);
    expect(() => dec('f7')).toThrow(/does not decode/);
    expect(() => dec('81'.repeat(40) + '00')).toThrow(/deeper than/);
    expect(() => decodeCbor(new Uint8Array(100), { maxBytes: 10 })).toThrow(/limit is 10/);
  });

  it('does not let a __proto__ key pollute prototypes', () => {
    const v = dec('a1695f5f70726f746f5f5fa1616101') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).a).toBeUndefined();
    expect(Object.keys(v)).toEqual(['__proto__']);
  });

  it('property: encode → decode → encode is the identity on bytes', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.maxSafeNat(),
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.uint8Array({ maxLength: 20 }),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 4 }).filter((d) => !('__proto__' in d)),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeCbor(v);
        expect(toHex(encodeCbor(decodeCbor(bytes, { maxBytes: 1 << 20 })))).toBe(toHex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('property: random bytes either decode or throw a CartularyError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCbor(bytes, { maxBytes: 1 << 20 });
        } catch (e) {
          expect((e as Error).name).toBe('CartularyError');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
