import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { type Annotation, type ImageManifest, isAcName, type PodManifest } from '@appc/schema';

/** What the service knows of one app of a registered pod. */
export interface MetadataApp {
  /** The app's original image manifest (META-007). */
  imageManifest: ImageManifest;
  /** The image ID (META-008). */
  imageId: string;
}

/** A pod as the service serves it. */
export interface MetadataPod {
  uuid: string;
  /** The reified pod manifest (META-004). */
  manifest: PodManifest;
  /** By pod app name. */
  apps: ReadonlyMap<string, MetadataApp> | Readonly<Record<string, MetadataApp>>;
}

/** A registered pod: the URL its apps get as `AC_METADATA_URL` is `base + '/' + token`. */
export interface MetadataRegistration {
  token: string;
  unregister(): void;
}

/** Options of {@link MetadataService}. */
export interface MetadataServiceOptions {
  /** The HMAC-SHA512 key (META-009); 64 random bytes by default. Pods of one host share it through
   * {@link loadHmacKey}, so a signature made in one pod verifies in another (META-010). */
  hmacKey?: Uint8Array | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PREFIX = '/acMetadata/v1';
const MAX_FORM_BYTES = 1024 * 1024;
const TEXT = 'text/plain; charset=us-ascii';

/** Reads the host's HMAC key from `file`, or makes one (64 random bytes, mode 0600) when there is none, so that
 * every metadata service of the host signs and verifies with the same key (META-009, META-010). */
export async function loadHmacKey(file: string): Promise<Buffer> {
  try {
    const key = await readFile(file);
    if (key.length >= 32) return key;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(64);
  const tmp = `${file}.${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, key, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  // two services starting at once: the last rename wins, and both read the winner
  return readFile(file);
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** The image annotations in their order with the pod app's values in place, then the pod app's new names in pod
 * order (META-006, the reference validator's exact order). */
export function mergeAnnotations(
  image: readonly Annotation[] = [],
  pod: readonly Annotation[] = [],
): Annotation[] {
  const override = new Map(pod.map((a) => [a.name, a.value]));
  const out = image.map((a) => ({ name: a.name, value: override.get(a.name) ?? a.value }));
  const seen = new Set(image.map((a) => a.name));
  for (const a of pod) if (!seen.has(a.name)) out.push({ name: a.name, value: a.value });
  return out;
}

/** Writes annotations as arrays, never null (META-012). */
function withArrays(manifest: PodManifest): PodManifest {
  return {
    ...manifest,
    annotations: manifest.annotations ?? [],
    apps: manifest.apps.map((a) => ({ ...a, annotations: a.annotations ?? [] })),
  } as PodManifest;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return undefined;
    parts.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(parts).toString('utf8'));
}

/** The App Container metadata service (META-001..META-012): pods register and get a token of 256 random bits;
 * their apps reach `http://HOST:PORT/TOKEN/acMetadata/v1/...`; the service answers a request only for the pod
 * that owns the token (401 otherwise). HMAC signing binds a content to the signing pod's UUID; any pod may
 * verify. Listen on as many addresses as the pods' networks need ({@link MetadataService.listen}).
 * @example
 * const mds = new MetadataService({ hmacKey: await loadHmacKey('/var/lib/appc/metadata/hmac.key') });
 * const { port } = await mds.listen(0, '127.0.0.1');
 * const { token } = mds.register({ uuid, manifest, apps });
 * // AC_METADATA_URL=http://127.0.0.1:${port}/${token}
 */
export class MetadataService {
  readonly #key: Buffer;
  readonly #pods = new Map<string, MetadataPod>();
  readonly #servers: Server[] = [];

  constructor(options: MetadataServiceOptions = {}) {
    this.#key = Buffer.from(options.hmacKey ?? randomBytes(64));
  }

  /** Registers a pod; its token is at least 128 bits (here 256) from the system's random source (META-001), or
   * the caller's own (a prepared pod's configs already carry it; give at least 32 random hex digits). */
  register(pod: MetadataPod, options: { token?: string } = {}): MetadataRegistration {
    const token = options.token ?? randomBytes(32).toString('hex');
    if (!/^[0-9a-f]{32,}$/.test(token))
      throw new TypeError('a metadata token is at least 32 lower-case hex digits');
    this.#pods.set(token, pod);
    return { token, unregister: () => this.#pods.delete(token) };
  }

  /** Starts answering on a TCP address (port 0: any free port). */
  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    const server = await this.#serve((s, ready) => s.listen(port, host, ready));
    const address = server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Starts answering on a unix socket (a forwarder in a pod's network namespace connects to it). */
  async listenUnix(path: string): Promise<void> {
    await this.#serve((s, ready) => s.listen(path, ready));
  }

  /** A server answering with {@link handle}, listening once `listen` has called back. */
  async #serve(listen: (server: Server, ready: () => void) => void): Promise<Server> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      listen(server, resolve);
    });
    this.#servers.push(server);
    return server;
  }

  /** Stops every listener. */
  async close(): Promise<void> {
    await Promise.all(
      this.#servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  /** HMAC-SHA512 over the pod's 16 UUID bytes and the content (META-009), base64. */
  sign(uuid: string, content: string): string {
    return createHmac('sha512', this.#key).update(uuidBytes(uuid)).update(content).digest('base64');
  }

  /** True when `signature` is {@link sign}(uuid, content); compared in constant time (META-010). */
  verify(uuid: string, content: string, signature: string): boolean {
    const expected = createHmac('sha512', this.#key).update(uuidBytes(uuid)).update(content).digest();
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Answers one request (exported for servers of the caller's own). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: string | object, type = 'application/json') => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const fail = (status: number, message: string) =>
      send(status, `${message}\n`, 'text/plain; charset=utf-8');
    const url = new URL(req.url ?? '/', 'http://metadata');
    const slash = url.pathname.indexOf('/', 1);
    const token = slash < 0 ? url.pathname.slice(1) : url.pathname.slice(1, slash);
    const path = slash < 0 ? '' : url.pathname.slice(slash);
    if (!path.startsWith(`${PREFIX}/`)) return fail(404, 'not a metadata endpoint');
    const rest = path.slice(PREFIX.length + 1).split('/');

    // META-010: any pod may verify; the token is not checked
    if (req.method === 'POST' && rest.join('/') === 'pod/hmac/verify') {
      const form = await readForm(req);
      const content = form?.get('content') ?? '';
      const uuid = form?.get('uuid') ?? '';
      const signature = form?.get('signature') ?? '';
      if (!form || content === '' || !UUID.test(uuid) || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature))
        return fail(400, 'give content, uuid and signature (base64) as form fields');
      return this.verify(uuid, content, signature)
        ? send(200, '', TEXT)
        : fail(403, 'signature does not match');
    }
    const pod = this.#pods.get(token);
    if (!pod) return fail(401, 'unknown token');
    if (req.method === 'POST' && rest.join('/') === 'pod/hmac/sign') {
      const form = await readForm(req);
      const content = form?.get('content') ?? '';
      if (!form || content === '') return fail(400, 'give the content to sign as the form field "content"');
      return send(200, this.sign(pod.uuid, content), TEXT);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'GET only');
    const manifest = withArrays(pod.manifest);
    const [section, ...more] = rest;
    if (section === 'pod') {
      const what = more.join('/');
      if (what === 'annotations') return send(200, manifest.annotations ?? []);
      if (more[0] === 'annotations' && more.length === 2) {
        const a = (manifest.annotations ?? []).find((x) => x.name === more[1]);
        return a ? send(200, a.value, TEXT) : fail(404, 'no such annotation');
      }
      if (what === 'manifest') return send(200, manifest);
      if (what === 'uuid') return send(200, pod.uuid, TEXT);
      return fail(404, 'no such pod endpoint');
    }
    if (section === 'apps' && more.length >= 2) {
      const [name = '', ...tail] = more;
      if (!isAcName(name)) return fail(400, `${JSON.stringify(name)} is not an AC Name`);
      const apps = pod.apps instanceof Map ? pod.apps : new Map(Object.entries(pod.apps));
      const app = apps.get(name);
      const podApp = manifest.apps.find((a) => a.name === name);
      if (!app || !podApp) return fail(404, `no app ${name} in this pod`);
      const what = tail.join('/');
      const annotations = mergeAnnotations(app.imageManifest.annotations ?? [], podApp.annotations ?? []);
      if (what === 'annotations') return send(200, annotations);
      if (tail[0] === 'annotations' && tail.length === 2) {
        const a = annotations.find((x) => x.name === tail[1]);
        return a ? send(200, a.value, TEXT) : fail(404, 'no such annotation');
      }
      if (what === 'image/manifest')
        return send(200, { ...app.imageManifest, annotations: app.imageManifest.annotations ?? [] });
      if (what === 'image/id') return send(200, app.imageId, TEXT);
      return fail(404, 'no such app endpoint');
    }
    return fail(404, 'no such endpoint');
  }
}
