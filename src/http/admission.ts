/**
 * Admission for requests whose bodies are large: at most `running` of them past this point
 * at once and `waiting` more in line, each waiting one holding only its socket (its body is
 * not read until it is admitted, so TCP holds the rest back). Beyond that the answer is 503
 * with Retry-After. This bounds what such bodies take together — a batch of 1,000
 * statements is up to ~22 MB of JSON and several times that once parsed — however many
 * clients send them at once; the rate limit bounds how often one client may.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { CartularyError } from '../core/errors.js';

export function admission(what: string, running: number, waiting: number): RequestHandler {
  let inside = 0;
  const line: Array<() => void> = [];
  const leave = () => {
    inside--;
    // the next in line whose client is still there
    while (line.length > 0 && inside < running) line.shift()!();
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const enter = () => {
      inside++;
      res.once('close', leave);
      next();
    };
    if (inside < running) return enter();
    if (line.length >= waiting) {
      res.set('Retry-After', '1');
      next(new CartularyError('unavailable', `${running + waiting} ${what} are being taken or wait already; try again in a moment`));
      return;
    }
    let gone = false;
    const turn = () => {
      if (!gone) enter();
    };
    line.push(turn);
    // A client that gives up while in line leaves it.
    req.once('close', () => {
      gone = true;
      const at = line.indexOf(turn);
      if (at >= 0) line.splice(at, 1);
    });
  };
}
