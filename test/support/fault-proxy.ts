// An HTTP fault proxy for loopback services (the GCS emulator): forwards requests, or, by rule,
// answers an injected status, holds the request without answering (the client's timeout fires),
// drops the connection, or delays the answer. Rules apply to the next N matching requests, to
// every matching request until healed, or at a seeded random rate, so a test can say exactly
// which storage calls fail and count what it did.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { createRng } from '../../ml/random';

export type Fault = { kind: 'status'; status: number } | { kind: 'hang' } | { kind: 'reset' } | { kind: 'delay'; ms: number };

export interface RequestInfo {
  method: string;
  url: string;
}

interface Rule {
  fault: Fault;
  /** Requests this rule still applies to; Infinity until healed. */
  left: number;
  match: (req: RequestInfo) => boolean;
  /** Random rules fire with this probability per matching request, picking one of `choices`. */
  rate?: number;
  choices?: Fault[];
}

export interface FaultProxy {
  endpoint: string;
  /** Requests seen, forwarded and faulted (by kind: "503", "hang", "reset", "delay"). */
  stats: { requests: number; forwarded: number; faults: Record<string, number> };
  /** The next `count` matching requests get `fault`. */
  next(fault: Fault, count: number, match?: (req: RequestInfo) => boolean): void;
  /** Every matching request gets `fault` until heal(). */
  always(fault: Fault, match?: (req: RequestInfo) => boolean): void;
  /** Each matching request gets one of `faults` with probability `rate` (seeded). */
  random(options: { seed: number; rate: number; faults: Fault[]; match?: (req: RequestInfo) => boolean }): void;
  /** Drops every rule. */
  heal(): void;
  /** The requests seen, in order (method and URL). */
  log: RequestInfo[];
  close(): Promise<void>;
}

const any = () => true;

export const isUpload = (req: RequestInfo) => req.url.startsWith('/upload/');
export const isDownload = (req: RequestInfo) => req.url.includes('alt=media') || req.url.startsWith('/download/');

function faultName(fault: Fault): string {
  return fault.kind === 'status' ? String(fault.status) : fault.kind;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let rules: Rule[] = [];
  let rng = createRng(1);
  const sockets = new Set<Socket>();
  const stats = { requests: 0, forwarded: 0, faults: {} as Record<string, number> };
  const log: RequestInfo[] = [];

  const pick = (req: RequestInfo): Fault | null => {
    for (const rule of rules) {
      if (rule.left <= 0 || !rule.match(req)) continue;
      if (rule.rate !== undefined && rule.choices) {
        const u = rng.next();
        if (u >= rule.rate) continue;
        return rule.choices[Math.min(rule.choices.length - 1, Math.floor((u / rule.rate) * rule.choices.length))];
      }
      rule.left--;
      return rule.fault;
    }
    return null;
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    stats.forwarded++;
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const server = http.createServer((req, res) => {
    const info = { method: req.method ?? 'GET', url: req.url ?? '/' };
    stats.requests++;
    log.push(info);
    const fault = pick(info);
    if (!fault) return forward(req, res);
    const name = faultName(fault);
    stats.faults[name] = (stats.faults[name] ?? 0) + 1;
    switch (fault.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        // Read the body and never answer: the client's own timeout must fire.
        req.resume();
        return;
      case 'delay':
        setTimeout(() => forward(req, res), fault.ms);
        return;
      case 'status':
        req.resume();
        req.on('end', () => {
          res.writeHead(fault.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: fault.status, message: `injected ${fault.status} by the fault proxy` } }));
        });
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    log,
    next(fault, count, match = any) {
      rules.push({ fault, left: count, match });
    },
    always(fault, match = any) {
      rules.push({ fault, left: Infinity, match });
    },
    random({ seed, rate, faults, match = any }) {
      rng = createRng(seed);
      rules.push({ fault: faults[0], left: Infinity, match, rate, choices: faults });
    },
    heal() {
      rules = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
