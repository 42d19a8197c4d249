// The control socket: a unix socket only root can open (mode 0600 in /run/gate64). Requests are
// validated with the protocol schema; a handler error becomes an error response, never a crash.
import { chmod, mkdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { formatPath } from "../config/validate.js";
import { type ControlRequest, ControlRequestSchema, type ControlResponse } from "./protocol.js";

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

const MAX_LINE = 1024 * 1024;
/** A client that sends nothing for this long is dropped (an answer in progress is not cut). */
const IDLE_MS = 60_000;

export async function serveControl(
  path: string,
  handle: ControlHandler,
  log: (l: string) => void,
  opts: { idleMs?: number } = {},
): Promise<Server> {
  await rm(path, { force: true });
  const server = createServer((sock) => {
    let buf = "";
    let busy = 0;
    sock.setEncoding("utf8");
    sock.on("error", () => undefined);
    sock.setTimeout(opts.idleMs ?? IDLE_MS, () => {
      if (busy === 0) sock.destroy();
    });
    sock.on("data", (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE) {
        // Answer once and stop reading: nothing more is buffered from this client.
        sock.end(`${JSON.stringify({ ok: false, error: "request too large" })}\n`);
        sock.destroySoon();
        sock.pause();
        buf = "";
        return;
      }
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        busy++;
        void respond(line).then((res) => {
          busy--;
          if (!sock.destroyed) sock.write(`${JSON.stringify(res)}\n`);
        });
      }
    });
  });
  const respond = async (line: string): Promise<ControlResponse> => {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return { ok: false, error: "request is not JSON" };
    }
    const parsed = ControlRequestSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join("; ") };
    try {
      return { ok: true, data: await handle(parsed.data) };
    } catch (err) {
      log(`control: ${parsed.data.cmd} failed: ${(err as Error).message}`);
      return { ok: false, error: (err as Error).message };
    }
  };
  // Its directory is made here (at boot nothing else has made /run/gate64 yet), before the umask.
  await mkdir(dirname(path), { recursive: true });
  // Created 0600 (umask while binding): there is no moment in which others may connect. listen()
  // binds synchronously and the umask is the process's: it is restored before any other code
  // runs, which would otherwise make its files and directories (/run/gate64 itself) under it.
  const listening = new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.once("listening", resolve);
  });
  const umask = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(umask);
  }
  await listening;
  await chmod(path, 0o600);
  return server;
}
