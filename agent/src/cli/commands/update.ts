// gate64 update: firmware updates on this box (docs/updates.md).
//   install FILE|URL   hand a bundle to the agent (the same path as a fleet update)
//   status             the last update and the slots
//   gate               the boot health gate (gate64-boot-check.service)
//   boot-backend ...   RAUC's custom bootloader backend; pre-install: RAUC's pre-install handler
import { resolve } from "node:path";
import { z } from "zod";
import { clean } from "../../lib/terminal.js";
import { PATHS } from "../../paths.js";
import { realSystem } from "../../system/real.js";
import type { UpdateStatus } from "../../update/attempt.js";
import { bootBackend, preInstall } from "../../update/backend.js";
import { bootOrder } from "../../update/boot-entries.js";
import { bootedSlot, espEntries } from "../../update/box.js";
import { runGate } from "../../update/gate.js";
import { type CommandContext, intFlag, need, parseFlags, switchFlag } from "../command.js";
import { ask, statusColour, who } from "../device.js";
import { EXIT, UsageError } from "../errors.js";

export const usage = `usage: gate64 update <install|status> ...
  gate64 update install FILE|URL [--sha256 HEX] [--allow-downgrade] [--wait]
      install a signed bundle (a path on the box, e.g. a USB stick, or an http(s) URL); the box
      reboots into it; --wait follows the download and install until the reboot
  gate64 update status      the last update, the booted slot and both slots' boot entries
  gate64 update gate [--timeout SEC]   the boot health gate (run by gate64-boot-check.service)`;

const sha256Flag = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { message: "64 lowercase hex digits" })
  .optional();

function line(u: UpdateStatus | null): string {
  if (u === null) return "none since this box was flashed";
  const pct = u.phase === "downloading" || u.phase === "installing" ? ` ${u.percent}%` : "";
  return `${statusColour(u.phase === "done" ? "ok" : u.phase === "failed" || u.phase === "rolled-back" ? "failed" : "pending")} ${u.phase}${pct}  ${clean(u.fromVersion)} -> ${clean(u.targetVersion ?? "?")}  by ${clean(u.by)} at ${u.at}${u.reason ? `\n          ${clean(u.reason)}` : ""}`;
}

export async function run({ args, out }: CommandContext): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "install": {
      const { flags, positionals } = parseFlags(rest, { sha256: sha256Flag, "allow-downgrade": switchFlag, wait: switchFlag }, usage);
      const src = need(positionals[0], "FILE or URL", usage);
      const url = /^https?:\/\//.test(src) ? src : resolve(src);
      let s = await ask({
        cmd: "update.install",
        url,
        allowDowngrade: flags["allow-downgrade"] === true,
        ...(flags.sha256 ? { sha256: flags.sha256 } : {}),
        by: who(),
      });
      if (!out.json) out.print(line(s));
      while (flags.wait === true && (s.phase === "downloading" || s.phase === "installing")) {
        await new Promise((r) => setTimeout(r, 2000));
        const next = (await ask({ cmd: "status" })).update;
        if (next === null) break;
        if (!out.json && (next.phase !== s.phase || next.percent !== s.percent)) out.print(line(next));
        s = next;
      }
      if (out.json) out.data(s);
      return s.phase === "failed" ? EXIT.failure : EXIT.ok;
    }
    case "status": {
      parseFlags(rest, {}, usage);
      const s = await ask({ cmd: "status" });
      const entries = bootOrder(await espEntries(realSystem));
      if (out.json) {
        out.data({ firmware: s.firmware, slot: s.slot, update: s.update, bootEntries: entries });
        return EXIT.ok;
      }
      out.print(`firmware  ${clean(s.firmware)}   booted slot ${s.slot ?? "-"}`);
      out.print(`update    ${line(s.update)}`);
      for (const e of entries)
        out.print(
          `  slot ${e.slot}  ${e.name}${e.left === null ? "  (good)" : e.left === 0 ? "  (bad: no tries left)" : `  (${e.left} tries left)`}`,
        );
      return s.update?.phase === "failed" || s.update?.phase === "rolled-back" ? EXIT.failure : EXIT.ok;
    }
    case "gate": {
      const { flags } = parseFlags(rest, { timeout: intFlag(10, 3600).optional(), settle: intFlag(5, 600).optional() }, usage);
      const version = ((await realSystem.readFile(PATHS.version)) ?? "dev").trim();
      const r = await runGate(realSystem, {
        health: () => ask({ cmd: "health" }),
        version,
        timeoutMs: (flags.timeout ?? 150) * 1000,
        settleMs: (flags.settle ?? 30) * 1000,
        intervalMs: 5000,
        log: (l) => out.print(l),
      });
      if (r === "not-counting") out.print(`slot ${await bootedSlot(realSystem)} is not on trial (no boot counter): nothing to prove`);
      return r === "passed" || r === "not-counting" ? EXIT.ok : EXIT.failure;
    }
    case "boot-backend": {
      const answer = await bootBackend(realSystem, rest);
      if (answer !== "") out.print(answer);
      return EXIT.ok;
    }
    case "pre-install": {
      for (const name of await preInstall(realSystem, process.env)) out.print(`staged ${name}`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(usage);
  }
}
