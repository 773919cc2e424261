import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchInit, FetchLike, FetchResponse } from './options.ts';

/** A {@link FetchLike} over `node:http(s)` with no stream in between: the body is the response itself, read as
 * the TLS records arrive. Documents and downloads use it by default (a fetch library's extra stream cost a third
 * of the time of a large download on loopback, and its modules a tenth of the CLI's start-up); redirects are
 * left to the caller, as `redirect: 'manual'` asks. */
export const nodeRequest: FetchLike = (url: string, init: FetchInit): Promise<FetchResponse> =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, {
      method: init.method,
      headers: { 'Accept-Encoding': 'identity', ...init.headers },
      agent: init.agent(target),
      signal: init.signal,
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.once('error', () => {});
      resolve({
        status: res.statusCode ?? 0,
        headers: {
          get(name: string) {
            const v = res.headers[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          },
        },
        body: res,
      });
    });
    req.end();
  });
