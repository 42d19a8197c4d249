// gate64 fleet shell DEVICE: a terminal on a box over MQTT. Keystrokes go to the session's "in"
// topic, its output comes from "out"; an empty message on "out" means the session ended.

import { clean } from "../../../lib/terminal.js";
import { need } from "../../command.js";
import { CliError, EXIT } from "../../errors.js";
import type { Verb } from "./common.js";
import { usage } from "./usage.js";

export const run: Verb = async (op, args, _flags, out) => {
  const device = need(args[0], "DEVICE", usage);
  const size = () => ({ cols: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 });
  const r = await op.request(device, "shell.open", size(), 15_000);
  if (!r.ok) throw new CliError(clean(`${device}: ${r.error.code}: ${r.error.message}`), EXIT.failure);
  const s = r.result as { session: string; in: string; out: string };
  out.error(`connected to ${device}, session ${s.session} (exit the shell to leave)`);
  const ended = new Promise<void>((resolve) => {
    op.onRaw((topic, payload) => {
      if (topic !== s.out) return;
      if (payload.length === 0) resolve();
      else process.stdout.write(payload);
    });
    op.client.once("close", resolve);
  });
  await op.client.subscribeAsync(s.out, { qos: 1 });
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on("data", (d: Buffer) => void op.publish(s.in, d));
  const onResize = () => void op.request(device, "shell.resize", { session: s.session, ...size() }).catch(() => undefined);
  process.stdout.on("resize", onResize);
  // Input that ends (a pipe) gives the shell 10 s to finish on its own, then closes the session
  // rather than leaving it to the idle timeout.
  stdin.once("end", () => {
    setTimeout(() => void op.request(device, "shell.close", { session: s.session }).catch(() => undefined), 10_000).unref();
  });
  await ended;
  process.stdout.off("resize", onResize);
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  out.error(`\nsession ${clean(s.session)} ended`);
  return EXIT.ok;
};
