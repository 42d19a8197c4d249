// Shared by the commands that talk to the agent on this box through the control socket.
import type { ApplyResult } from "../apply/applier.js";
import { request } from "../control/client.js";
import type { ControlCmd, ControlReplies, RequestOf } from "../device/replies.js";
import { paintStatus } from "../lib/terminal.js";
import { CliError, EXIT } from "./errors.js";
import { colour, type Output } from "./output.js";

export async function ask<K extends ControlCmd>(req: RequestOf<K>): Promise<ControlReplies[K]> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(req);
  } catch (err) {
    throw new CliError(
      `cannot reach the agent (${(err as Error).message}); is gate64-agent running? (systemctl status gate64-agent)`,
      EXIT.unavailable,
    );
  }
  if (!res.ok) throw new CliError(res.error, EXIT.failure, res.detail);
  return res.data as ControlReplies[K];
}

export function who(): string {
  return `${process.env.SUDO_USER ?? process.env.USER ?? "root"}@console`;
}

export function statusColour(s: string): string {
  return paintStatus(colour, s);
}

/** Prints an apply outcome and returns the exit code it means. */
export function reportApply(out: Output, r: ApplyResult): number {
  if (out.json) out.data(r);
  switch (r.outcome) {
    case "committed":
      if (!out.json)
        out.print(`${statusColour("committed")} revision ${r.revision}${r.services.length ? ` (reloaded: ${r.services.join(", ")})` : ""}`);
      return EXIT.ok;
    case "pending":
      if (!out.json)
        out.print(`${statusColour("pending")} revision ${r.revision}: run \`gate64 config confirm\` before ${r.confirmBy} or it reverts`);
      return EXIT.ok;
    case "unchanged":
      if (!out.json) out.print(`${statusColour("unchanged")}: revision ${r.revision} already renders the same`);
      return EXIT.ok;
    case "reverted":
      if (!out.json) out.error(`${statusColour("reverted")} revision ${r.revision}: ${r.reason}`);
      return EXIT.failure;
    case "refused":
      if (!out.json) out.error(`${statusColour("refused")}:\n${r.problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`);
      return EXIT.invalid;
  }
}
