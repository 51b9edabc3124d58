/**
 * CBOR for everything the ledger signs or hashes.
 *
 * Encoding is RFC 8949 §4.2.1 core deterministic: shortest integers and lengths, map keys
 * sorted bytewise, definite lengths. cborg's `rfc8949EncodeOptions` does exactly that
 * (cbor-x was measured not to: it leaves map keys unsorted and writes 2^32+ integers,
 * such as millisecond timestamps, as float64; see README "Choices").
 *
 * Decoding is liberal in encoding (any well-formed CBOR, deterministic or not) but safe:
 * a size limit, a nesting-depth limit checked before any object is built, no trailing
 * bytes, no duplicate map keys, no undefined/NaN/Infinity, and `__proto__` keys become
 * plain properties (cborg defines them rather than assigning).
 */
import { decode, encode, rfc8949EncodeOptions, Tokenizer, Type } from 'cborg';
import type { DecodeOptions } from 'cborg';
import { CartularyError } from './errors.js';

export const MAX_DEPTH = 16;

export function encodeCbor(value: unknown): Uint8Array {
  return encode(value, rfc8949EncodeOptions);
}

export interface DecodeLimits {
  /** largest input in bytes */
  maxBytes: number;
  /** decode maps as Map (needed for COSE headers, whose keys are integers) */
  useMaps?: boolean;
  /** tags to accept, each mapped to its content unchanged (COSE_Sign1 is tag 18) */
  tags?: number[];
}

export function decodeCbor(bytes: Uint8Array, limits: DecodeLimits, what = 'CBOR'): unknown {
  if (bytes.length > limits.maxBytes) {
    throw new CartularyError('too-large', `${what} is ${bytes.length} bytes; the limit is ${limits.maxBytes}`);
  }
  const tags: DecodeOptions['tags'] = {};
  for (const t of limits.tags ?? []) tags[t] = (decodeContent: () => unknown) => decodeContent();
  try {
    checkDepth(bytes);
    return decode(bytes, {
      useMaps: limits.useMaps ?? false,
      rejectDuplicateMapKeys: true,
      allowUndefined: false,
      allowNaN: false,
      allowInfinity: false,
      tags,
    });
  } catch (e) {
    if (e instanceof CartularyError) throw e;
    throw new CartularyError('malformed', `${what} does not decode: ${(e as Error).message}`, { cause: e });
  }
}

/** Walks the token stream once, without building values, to bound nesting depth. */
function checkDepth(bytes: Uint8Array): void {
  const tokenizer = new Tokenizer(bytes, { allowIndefinite: true });
  // Each open container remembers how many items it still expects (Infinity for indefinite).
  const open: number[] = [];
  const consumeOne = () => {
    while (open.length > 0) {
      const top = open.length - 1;
      open[top] = (open[top] as number) - 1;
      if ((open[top] as number) > 0) return;
      open.pop();
    }
  };
  while (!tokenizer.done()) {
    const token = tokenizer.next();
    const type = token.type;
    if (Type.equals(type, Type.array) || Type.equals(type, Type.map)) {
      const items = Type.equals(type, Type.map) ? token.value * 2 : token.value;
      if (items === 0) consumeOne();
      else {
        open.push(items);
        if (open.length > MAX_DEPTH) throw new CartularyError('malformed', `CBOR nests deeper than ${MAX_DEPTH} levels`);
      }
    } else if (Type.equals(type, Type.break)) {
      open.pop();
      consumeOne();
    } else if (!Type.equals(type, Type.tag)) {
      consumeOne();
    }
  }
}
