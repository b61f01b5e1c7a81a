// `flywheel serve`: the prediction server (serving/main.ts) on DATABASE_URL and the artifact store.
import type { Command } from 'commander';
import { runPredictionServer } from '../../serving/main';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the prediction server (POST /predict, /rank, /feedback; GET /healthz, /metrics) until Ctrl-C')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', (v) => Number(v), 8080)
    .option('--body-limit <bytes>', 'largest accepted request body', (v) => Number(v), 64 * 1024)
    .option('--refresh-ms <ms>', 'periodic routing re-read (changes arrive by NOTIFY first)', (v) => Number(v), 5_000)
    .option('--json', 'print {"url"} on stdout once listening')
    .action(async (o) => {
      if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`--port must be an integer 0-65535, got ${o.port}`);
      await runPredictionServer({
        host: o.host,
        port: o.port,
        bodyLimit: o.bodyLimit,
        refreshMs: o.refreshMs,
        onListening: (url) => console.log(o.json ? JSON.stringify({ url }) : `listening on ${url}`),
      });
    });
}
