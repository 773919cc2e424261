// A real HTTP proxy on loopback for the tests: it answers `CONNECT host:port` by opening a TCP connection and
// relaying bytes both ways, as squid or tinyproxy do for https. Every target name resolves to 127.0.0.1 (the
// tests' servers listen there under names such as example.com). With `credentials`, a CONNECT without the
// matching `Proxy-Authorization: Basic` is answered 407.
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface ConnectProxy {
  port: number;
  /** `CONNECT` targets asked for, in order (`host:port`), with whether they were let through. */
  seen: { target: string; allowed: boolean }[];
  close(): Promise<void>;
}

export async function startConnectProxy(options: { credentials?: string } = {}): Promise<ConnectProxy> {
  const seen: ConnectProxy['seen'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^CONNECT (\S+):(\d+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
      if (!m) {
        client.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const target = `${m[1]}:${m[2]}`;
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]*:\s*/, '');
      const allowed =
        options.credentials === undefined ||
        auth === `Basic ${Buffer.from(options.credentials).toString('base64')}`;
      seen.push({ target, allowed });
      if (!allowed) {
        client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n',
        );
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port: Number(m[2]) });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      upstream.once('connect', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        const rest = head.subarray(end + 4);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    client.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
