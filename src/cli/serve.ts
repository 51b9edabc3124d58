import { startServer, DEFAULT_CHECK_RATE_LIMIT, DEFAULT_RATE_LIMIT } from '../http/server.js';
import { CartularyError } from '../core/errors.js';
import { ledgerFolders, str, type Command } from './command.js';

function portOf(value: string | undefined): number {
  const port = Number(value ?? process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CartularyError('invalid', `port "${value}" is not a TCP port`);
  return port;
}

export const serve: Command = {
  name: 'serve',
  summary: 'serve the ledger over HTTP (creates keys/ledger.key and data/ on first start)',
  usage: 'cartulary serve [--port 8080] [--host 127.0.0.1] [--data DIR] [--keys DIR] [--origin NAME] [--rate-limit N] [--check-rate-limit N]',
  example: 'cartulary serve --port 9000 --origin registry.example.org/ledger   (or PORT=9000 npm start)',
  options: { ...ledgerFolders, port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, 'rate-limit': { type: 'string' }, 'check-rate-limit': { type: 'string' } },
  async run(v, _p, io) {
    const perMinute = (option: string, fallback: number, what: string) => {
      const n = str(v[option]) === undefined ? fallback : Number(str(v[option]));
      if (!Number.isInteger(n) || n < 1) throw new CartularyError('invalid', `--${option} must be a whole number of ${what} per minute`);
      return n;
    };
    const rateLimit = perMinute('rate-limit', DEFAULT_RATE_LIMIT, 'submissions');
    const checkRateLimit = perMinute('check-rate-limit', DEFAULT_CHECK_RATE_LIMIT, 'checks');
    const running = await startServer({
      port: portOf(str(v.port)),
      host: str(v.host) as string,
      dataDir: str(v.data) as string,
      keysDir: str(v.keys) as string,
      origin: str(v.origin),
      rateLimit,
      checkRateLimit,
    });
    const { ledger } = running;
    io.err(`${ledger.createdKey ? 'created ledger key ' + str(v.keys) + '/ledger.key; ' : ''}ledger "${ledger.origin}" with ${ledger.sequencer.size} entries`);
    io.err(`verifier key: ${ledger.sequencer.verifierKey}`);
    io.err(`listening on ${running.url}`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        io.err(`${signal}: draining and closing the ledger`);
        running.close().then(resolve, (e: unknown) => {
          io.err(`error while closing: ${(e as Error).message}`);
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};
