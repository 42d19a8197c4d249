// The CLI's side of the control socket.
import { connect } from "node:net";
import { PATHS } from "../paths.js";
// Types only: evaluating the schemas (and zod) would add to every CLI command's start.
import type { ControlRequest, ControlResponse } from "./protocol.js";

export const controlSocketPath = () => process.env.GATE64_CONTROL ?? PATHS.controlSocket;

/**
 * How long an answer may take. An apply waits for its probes (health.applyVerifySec, at most
 * 600 s) after installing (CoreDNS waits up to 30 s for the LAN address and 60 s to restart):
 * changes get 15 minutes, everything else 2.
 */
export function timeoutFor(req: ControlRequest): number {
  return ["config.apply", "config.set", "config.rollback", "config.confirm"].includes(req.cmd) ? 15 * 60_000 : 120_000;
}

export function request(req: ControlRequest, timeoutMs = timeoutFor(req)): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(controlSocketPath());
    let buf = "";
    const timer = setTimeout(() => sock.destroy(new Error(`no answer from the agent within ${timeoutMs / 1000} s`)), timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        sock.end();
        resolve(JSON.parse(buf.slice(0, nl)) as ControlResponse);
      }
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
