// A real discovery server on loopback for the tests: one port speaks both https and plain http (the first byte
// of a connection decides), with a CA and a server certificate made by the openssl program at test time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  ca: string;
  key: string;
  cert: string;
}

/** Makes a throw-away CA and a server certificate for `hosts` (DNS names) plus 127.0.0.1 and localhost. */
export function makePki(hosts: string[]): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'appc-disc-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=appc test CA',
    );
    run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    const san = ['DNS:localhost', 'IP:127.0.0.1', ...hosts.map((h) => `DNS:${h}`)].join(',');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    run(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    );
    return {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      key: readFileSync(join(dir, 'server.key'), 'utf8'),
      cert: readFileSync(join(dir, 'server.crt'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Scheme = 'https' | 'http';
export interface Seen {
  scheme: Scheme;
  host: string;
  url: string;
  authorization: string | undefined;
}
export type Handler = (req: IncomingMessage, res: ServerResponse, scheme: Scheme) => void;

export interface TestServer {
  port: number;
  /** Every request the server got, in order. */
  seen: Seen[];
  handle: Handler;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 with a replaceable handler (404 until one is set). */
export async function startServer(pki: Pki): Promise<TestServer> {
  const server: TestServer = {
    port: 0,
    seen: [],
    handle: (_req, res) => {
      res.statusCode = 404;
      res.end();
    },
    close: async () => {},
  };
  const on = (scheme: Scheme) => (req: IncomingMessage, res: ServerResponse) => {
    server.seen.push({
      scheme,
      host: String(req.headers.host),
      url: String(req.url),
      authorization: req.headers.authorization,
    });
    server.handle(req, res, scheme);
  };
  const https = createHttpsServer({ key: pki.key, cert: pki.cert }, on('https'));
  const http = createHttpServer(on('http'));
  const sockets = new Set<Socket>();
  const net = createNetServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === 0x16 ? https : http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
    socket.resume();
  });
  await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
  server.port = (net.address() as AddressInfo).port;
  server.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      https.close();
      http.close();
      net.close(() => resolve());
    });
  return server;
}
