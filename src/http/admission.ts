/**
 * Admission for requests whose bodies are large: at most `running` of them past this point
 * at once and `waiting` more in line, each waiting one holding only its socket (its body is
 * not read until it is admitted, so TCP holds the rest back). Beyond that the answer is 503
 * with Retry-After. This bounds what such bodies take together — a batch of 1,000
 * statements is up to ~22 MB of JSON and several times that once parsed — however many
 * clients send them at once; the rate limit bounds how often one client may.
 *
 * Fair between clients (by address, as the rate limit tells them apart): a freed place goes
 * first to a client holding none, and one client may hold at most `perClient` places in
 * line. A client trickling its bodies (the server's request timeout ends each after 30 s)
 * cannot keep the others out for longer than its first such requests last.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { CartularyError } from '../core/errors.js';

export function admission(what: string, running: number, waiting: number, perClient = Math.ceil(waiting / 2)): RequestHandler {
  let inside = 0;
  const holding = new Map<string, number>();
  const line: Array<{ client: string; enter: () => void }> = [];
  const admitNext = () => {
    while (inside < running && line.length > 0) {
      const first = line.findIndex((w) => !holding.has(w.client));
      line.splice(first < 0 ? 0 : first, 1)[0]!.enter();
    }
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const client = req.ip ?? req.socket.remoteAddress ?? '';
    const enter = () => {
      inside++;
      holding.set(client, (holding.get(client) ?? 0) + 1);
      res.once('close', () => {
        inside--;
        const left = (holding.get(client) ?? 1) - 1;
        if (left > 0) holding.set(client, left);
        else holding.delete(client);
        admitNext();
      });
      next();
    };
    if (inside < running && line.length === 0) return enter();
    if (line.length >= waiting || line.filter((w) => w.client === client).length >= perClient) {
      res.set('Retry-After', '1');
      next(new CartularyError('unavailable', `${running} ${what} are being taken and ${line.length} wait already; try again in a moment`));
      return;
    }
    const place = { client, enter };
    line.push(place);
    // A client that gives up while in line leaves it.
    req.once('close', () => {
      const at = line.indexOf(place);
      if (at >= 0) line.splice(at, 1);
    });
  };
}
