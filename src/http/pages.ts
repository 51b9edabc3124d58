/**
 * Pages for people reading the API: the reference at /docs (Redoc's standalone bundle,
 * served from node_modules, so the page works offline and under a strict CSP), the format
 * specification at /docs/format, and one page per problem type at /problems/<code>.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import helmet from 'helmet';
import type { ErrorCode } from '../core/errors.js';
import { CartularyError } from '../core/errors.js';
import { ERROR_CODES, EXPLANATION, problemPath, STATUS, TITLE } from './problem.js';
import { FORMAT_DOC_PATH } from './openapi.js';

const REDOC_BUNDLE = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
const FORMAT_FILE = fileURLToPath(new URL('../../docs/format.md', import.meta.url));

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** `code spans` in the explanations, as <code>. */
const prose = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}code{background:#f2f2f2;padding:0 .2em}a{color:#0645ad}';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function problemPage(code: ErrorCode): string {
  return page(
    `${TITLE[code]} — Cartulary problem`,
    `<p><a href="/problems">Cartulary problems</a></p><h1>${escapeHtml(TITLE[code])}</h1>` +
      `<p>HTTP status <strong>${STATUS[code]}</strong>; problem type <code>${problemPath(code)}</code> (RFC 9457).</p><p>${prose(EXPLANATION[code])}</p>` +
      `<p>The <code>detail</code> member says what exactly was wrong with this request. See the <a href="/docs">API reference</a> and the <a href="${FORMAT_DOC_PATH}">format specification</a>.</p>`,
  );
}

function problemIndex(): string {
  const rows = ERROR_CODES.map((c) => `<li><a href="${problemPath(c)}"><code>${c}</code></a> — ${STATUS[c]} ${escapeHtml(TITLE[c])}</li>`).join('');
  return page('Cartulary problems', `<h1>Problem types</h1><p>Every error of the Cartulary API is an RFC 9457 <code>application/problem+json</code> document whose <code>type</code> is one of these.</p><ul>${rows}</ul>`);
}

const REDOC_PAGE = page('Cartulary API', '<redoc spec-url="/openapi.json"></redoc><script src="/docs/redoc.standalone.js"></script>').replace(/<style>.*<\/style>/, '');

export function pagesRouter(): express.Router {
  const router = express.Router();
  const html = (res: Response, text: string) => res.type('text/html; charset=utf-8').send(text);
  // Redoc runs its search index in a worker it builds from a blob, and styles through
  // injected <style> elements (already allowed by helmet's default style-src).
  const docsCsp = helmet.contentSecurityPolicy({ useDefaults: true, directives: { 'worker-src': ["'self'", 'blob:'] } });
  router.get('/docs', docsCsp, (_req, res) => html(res, REDOC_PAGE));
  router.get('/docs/redoc.standalone.js', (_req, res) => {
    res.sendFile(REDOC_BUNDLE, { maxAge: '1d', headers: { 'content-type': 'text/javascript; charset=utf-8' } });
  });
  router.get(FORMAT_DOC_PATH, async (_req, res, next) => {
    try {
      res.type('text/plain; charset=utf-8').send(await readFile(FORMAT_FILE, 'utf8'));
    } catch {
      next(new CartularyError('not-found', 'the format specification is not installed with this server'));
    }
  });
  // The problem pages carry their own small <style>: helmet's default policy allows it.
  const pageCsp = helmet.contentSecurityPolicy({ useDefaults: true });
  router.get('/problems', pageCsp, (_req, res) => html(res, problemIndex()));
  router.get('/problems/:code', pageCsp, (req: Request, res, next) => {
    const code = req.params.code as ErrorCode;
    if (!ERROR_CODES.includes(code)) return next(new CartularyError('not-found', `no problem type ${code}`));
    html(res, problemPage(code));
  });
  return router;
}
