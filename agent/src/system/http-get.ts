// An HTTP(S) GET on Node's http and https modules rather than fetch: the agent runs in V8's lite
// mode, which has no WebAssembly (docs/benchmarks.md#agent), and fetch parses HTTP with undici's
// WebAssembly build of llhttp.
import { get as httpGet, type IncomingMessage } from "node:http";

const MAX_REDIRECTS = 5;

async function get(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
  // node:https (and with it TLS, about 5 MiB of RSS) only when a download needs it.
  const send = url.protocol === "https:" ? (await import("node:https")).get : url.protocol === "http:" ? httpGet : null;
  if (send === null) throw new Error(`${url.href}: not an http(s) URL`);
  return new Promise((resolve, reject) => {
    send(url, { signal }, resolve).on("error", reject);
  });
}

/**
 * The 200 response to a GET of `url`, after at most five redirects (never from https to http);
 * any other status is an error naming it. The signal aborts the request and its body.
 */
export async function httpResponse(url: string, signal: AbortSignal): Promise<IncomingMessage> {
  let at = new URL(url);
  for (let hops = 0; ; hops++) {
    const res = await get(at, signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status === 200) return res;
    res.resume();
    if (status < 300 || status > 399 || location === undefined) throw new Error(`${url}: HTTP ${status}`);
    if (hops === MAX_REDIRECTS) throw new Error(`${url}: more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, at);
    if (at.protocol === "https:" && next.protocol !== "https:") throw new Error(`${url}: redirected from https to ${next.protocol}`);
    at = next;
  }
}
