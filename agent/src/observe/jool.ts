// Jool's instance as the box sees it. Every `jool -i default …` against a missing instance makes
// the kernel log "Jool error: This namespace lacks an instance named 'default'" at error level,
// which reaches the serial console: readers ask whether the instance is there before asking it
// anything else, so a box without one (NAT64 failing to apply) keeps its console readable.
import { JOOL_INSTANCE } from "../render/jool.js";
import type { System } from "../system/system.js";

/** Whether the instance exists (`jool instance display` never logs an error). */
export async function joolInstanceLoaded(sys: System): Promise<boolean> {
  return (await sys.run("jool", ["instance", "display", "--csv", "--no-headers"])).stdout.includes(JOOL_INSTANCE);
}

/** The running instance's pool6, or null; ask only once joolInstanceLoaded said yes. */
export async function joolPool6(sys: System): Promise<string | null> {
  const g = await sys.run("jool", ["-i", JOOL_INSTANCE, "global", "display", "--csv"]);
  return /^pool6,(.*)$/m.exec(g.stdout)?.[1]?.trim() ?? null;
}

/** Rows of `jool session|bib display` for one protocol, or null; ask only once the instance is there. */
export async function joolRows(sys: System, table: "session" | "bib", proto: string): Promise<number | null> {
  const r = await sys.run("jool", ["-i", JOOL_INSTANCE, table, "display", `--${proto}`, "--numeric", "--csv", "--no-headers"]);
  return r.code === 0 ? r.stdout.split("\n").filter((l) => l.trim() !== "").length : null;
}
