/**
 * A plain static file server (node:http + node:fs, nothing of Cartulary's): it stands for
 * any web server or CDN in front of `export-tiles` output, in tests and in the benchmark.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export async function startStaticServer(root: string): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] as string));
    if (path.includes('..')) {
      res.writeHead(400).end();
      return;
    }
    readFile(join(root, path)).then(
      (bytes) => {
        const type = path === '/checkpoint' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
        res.writeHead(200, { 'content-type': type, 'content-length': bytes.length }).end(bytes);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

// Run alone (`tsx scripts/lib/static-server.ts DIR`), it serves DIR in its own process, as a web server would.
if (process.argv[1]?.endsWith('static-server.ts') && process.argv[2]) {
  const running = await startStaticServer(process.argv[2]);
  process.stdout.write(`listening on ${running.url}\n`);
}
