/**
 * Headers a middleware sets the same way on every answer, set in one step.
 *
 * helmet's ten middlewares and cors's answer to a simple request each set a fixed header or
 * two, yet as layers of the request's path they cost about a sixth of an inclusion proof's
 * throughput (helmet ~9 %, cors ~7 %: proofs at 100 k entries, each layer removed in turn).
 * So each is run once, on a stand-in request and response, and what it set (or removed) is
 * recorded; one function then makes those changes on every answer. The libraries still
 * decide the headers. Only a middleware whose headers do not depend on the request may be
 * recorded — the caller's to know (helmet with fixed directives; cors with any origin, for
 * anything but a preflight); `record` refuses one that does not pass the request on at once.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** A header set to a value, or removed (no value). */
export interface HeaderChange {
  name: string;
  value?: number | string | readonly string[];
}

/** What `middleware` does to the headers of an answer to `req` (a plain GET unless given). */
export function record(middleware: RequestHandler, req: { method: string; headers: Record<string, string> } = { method: 'GET', headers: {} }): HeaderChange[] {
  const changes: HeaderChange[] = [];
  const set = new Map<string, HeaderChange['value']>();
  const res = {
    setHeader(name: string, value: HeaderChange['value']) {
      changes.push({ name, value });
      set.set(name.toLowerCase(), value);
      return res;
    },
    removeHeader(name: string) {
      changes.push({ name });
      set.delete(name.toLowerCase());
    },
    getHeader: (name: string) => set.get(name.toLowerCase()),
    // A middleware that answers itself (a preflight) ends here; it is refused below.
    end: () => undefined,
  };
  let passedOn = false;
  middleware(req as unknown as Request, res as unknown as Response, ((error?: unknown) => {
    if (error) throw error;
    passedOn = true;
  }) as NextFunction);
  if (!passedOn) throw new Error('a middleware that does not pass the request on at once has no fixed headers to record');
  return changes;
}

/** Makes the recorded changes on an answer, in order. */
export function apply(res: Response, changes: readonly HeaderChange[]): void {
  for (const { name, value } of changes) {
    if (value === undefined) res.removeHeader(name);
    else res.setHeader(name, value);
  }
}
