import { startWitness } from '../witness/server.js';
import { closedOnSignal, str, UsageError, type Command } from './command.js';
import { ledgerKeyArg } from './ledger-key.js';
import { portOf } from './serve.js';

export const witness: Command = {
  name: 'witness',
  summary: 'run a witness (C2SP tlog-witness): cosign checkpoints of the logs you follow only if they extend what you saw',
  usage: 'cartulary witness --log VKEY [--log VKEY]… [--port 8090] [--host 127.0.0.1] [--data DIR] [--keys DIR] [--name NAME] [--json]',
  example: 'cartulary witness --log "$(curl -s http://ledger:8080/v1/log | jq -r .verifierKey)" --name court.example/witness --port 8090',
  options: {
    log: { type: 'string', multiple: true },
    port: { type: 'string', default: '8090' },
    host: { type: 'string', default: '127.0.0.1' },
    data: { type: 'string', default: 'witness-data' },
    keys: { type: 'string', default: 'keys' },
    name: { type: 'string', default: 'cartulary.local/witness' },
  },
  async run(v, _p, io) {
    const logs = await Promise.all((Array.isArray(v.log) ? v.log : []).map((l) => ledgerKeyArg(String(l), undefined)));
    if (logs.length === 0) throw new UsageError('--log VKEY is required: the verifier key of each log to witness');
    const running = await startWitness({
      port: portOf(str(v.port) as string),
      host: str(v.host) as string,
      dataDir: str(v.data) as string,
      keysDir: str(v.keys) as string,
      name: str(v.name) as string,
      logs,
      log: (line) => io.err(line),
    });
    const stopped = closedOnSignal(() => running.close(), io);
    if (v.json) io.err(JSON.stringify({ url: running.url, witnessKey: running.verifierKey, logs }));
    else {
      io.err(`witness key: ${running.verifierKey}`);
      io.err(`following ${logs.length} log${logs.length === 1 ? '' : 's'}; listening on ${running.url}`);
    }
    await stopped;
    return 0;
  },
};
