// gate64 fleet update BUNDLE|URL (DEVICE | --group G) [--canary N] [--batch M] [--timeout SEC]
//   [--serve ADDR:PORT] [--allow-downgrade]
// A local BUNDLE is hashed here and, with --serve, offered over HTTP for the rollout's duration
// (boxes fetch it from http://ADDR:PORT/<sha256>.raucb); a URL is fetched once to hash it.
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { updateRollout } from "../../../fleet/update-rollout.js";
import { clean } from "../../../lib/terminal.js";
import { CliError, EXIT, UsageError } from "../../errors.js";
import type { Verb } from "./common.js";
import { usage } from "./usage.js";

async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

async function hashUrl(url: string): Promise<{ sha256: string; size: number }> {
  const res = await fetch(url);
  if (!res.ok || res.body === null) throw new CliError(`${url}: HTTP ${res.status}`, EXIT.unavailable);
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    size += chunk.length;
  }
  return { sha256: h.digest("hex"), size };
}

/** Serves exactly one file, at one path, to whoever asks: the boxes of this rollout. */
function serve(addr: string, file: string, path: string, size: number): Promise<Server> {
  const m = /^(.*):(\d+)$/.exec(addr);
  if (!m) throw new UsageError(`--serve: ADDR:PORT, got ${addr}`);
  const server = createServer((req, res) => {
    if (req.url !== path || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(m[2]), (m[1] as string).replace(/^\[|\]$/g, ""), () => resolve(server));
  });
}

export const run: Verb = async (op, args, flags, out) => {
  const [source, device] = args;
  if (source === undefined) throw new UsageError(`a BUNDLE file or URL is required\n\n${usage}`);
  if ((device === undefined) === (flags.group === undefined)) throw new UsageError(`one DEVICE or --group G\n\n${usage}`);
  const say = (l: string) => (out.json ? undefined : out.print(clean(l)));
  let url = source;
  let sha256: string;
  let size: number;
  let server: Server | null = null;
  if (/^https?:\/\//.test(source)) {
    if (flags.serve) throw new UsageError("--serve serves a local BUNDLE, not a URL");
    ({ sha256, size } = await hashUrl(source));
  } else {
    try {
      size = statSync(source).size;
    } catch (e) {
      throw new CliError(`${source}: ${(e as Error).message}`, EXIT.invalid);
    }
    sha256 = await hashFile(source);
    if (!flags.serve) throw new UsageError("a local BUNDLE needs --serve ADDR:PORT (an address the boxes reach), or give a URL");
    server = await serve(flags.serve, source, `/${sha256}.raucb`, size);
    url = `http://${flags.serve}/${sha256}.raucb`;
    say(`serving ${source} at ${url}`);
  }
  const members = device
    ? [device]
    : [...(await op.inventory())].filter(([, v]) => v.state?.groups.includes(flags.group as string)).map(([d]) => d);
  try {
    const r = await updateRollout(op, {
      devices: members,
      url,
      sha256,
      size,
      allowDowngrade: flags["allow-downgrade"] === true,
      canary: flags.canary,
      batch: flags.batch,
      timeoutMs: (flags.timeout ?? 1800) * 1000,
      onEvent: say,
    });
    if (out.json) out.data(r);
    if (r.failed) out.error(clean(`update stopped in wave ${r.failed.wave} at ${r.failed.device}: ${r.failed.phase}: ${r.failed.reason}`));
    return r.failed ? EXIT.failure : EXIT.ok;
  } finally {
    // A box that lost power mid-download leaves its connection half open: drop it, or the CLI waits on it.
    server?.close();
    server?.closeAllConnections();
  }
};
