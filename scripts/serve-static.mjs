#!/usr/bin/env node
// A plain static file server over HTTPS, for the demo and the tests: what any web server would do with the
// directory `appc publish` writes. Files are served as they are; a directory answers with its index.html (a
// directory URL without its slash is redirected to it, query kept, as common servers do); nothing else.
// usage: node scripts/serve-static.mjs --dir DIR --cert CERT.pem --key KEY.pem [--port N] [--port-file FILE]
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join, normalize, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    port: { type: 'string', default: '0' },
    'port-file': { type: 'string' },
  },
});
if (!values.dir || !values.cert || !values.key) {
  console.error('usage: serve-static.mjs --dir DIR --cert CERT --key KEY [--port N] [--port-file FILE]');
  process.exit(2);
}
const root = resolve(values.dir);
const types = {
  '.html': 'text/html; charset=utf-8',
  '.aci': 'application/octet-stream',
  '.asc': 'text/plain',
  '.gpg': 'application/pgp-keys',
};

const server = createServer(
  { cert: readFileSync(values.cert), key: readFileSync(values.key) },
  (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    const path = normalize(join(root, decodeURIComponent(url.pathname)));
    if (path !== root && !path.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    let file = path;
    let st;
    try {
      st = statSync(file);
      if (st.isDirectory()) {
        if (!url.pathname.endsWith('/')) {
          res.writeHead(301, { Location: `${url.pathname}/${url.search}` }).end();
          return;
        }
        file = join(file, 'index.html');
        st = statSync(file);
      }
    } catch {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, {
      'Content-Length': st.size,
      'Content-Type': types[ext] ?? 'application/octet-stream',
      ETag: etag,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  },
);
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address();
  if (values['port-file']) writeFileSync(values['port-file'], `${port}\n`);
  console.error(`serving ${root} at https://127.0.0.1:${port}/`);
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => server.close(() => process.exit(0)));
