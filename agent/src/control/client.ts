// The CLI's side of the control socket.
import { connect } from "node:net";
import { join } from "node:path";
import { PATHS } from "../paths.js";
import type { ControlRequest, ControlResponse } from "./protocol.js";
import { CONTROL_SOCKET } from "./protocol.js";

export const controlSocketPath = () => process.env.GATE64_CONTROL ?? join(PATHS.run, CONTROL_SOCKET);

export function request(req: ControlRequest, timeoutMs = 120_000): Promise<ControlResponse> {
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
