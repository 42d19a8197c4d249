// npm run bench -- update: firmware updates in the lab VM (QEMU TCG, 2 vCPU on one host thread).
// Prints the bundle's size; for a good update the download, install and reboot-to-healthy times
// (from the box's own phase timestamps on its retained state); and for a bundle that never gets
// healthy, the time from the reboot into it to the box reporting rolled-back on the old slot.
// The whole bundle is downloaded each time: RAUC's adaptive updates need streaming (which this
// box does not use yet), so a second update that changes only the agent costs the same bytes.
import { statSync } from "node:fs";
import type { State } from "../../agent/src/fleet/protocol.js";
import { TestBundles } from "../lab/bundles.js";
import { Lab } from "../lab/lab.js";
import { report } from "./report.js";

const SERVE = "198.51.100.10:8089";

/** The time of each phase's first appearance on the box's retained state, box clock. */
function phaseTimes(lines: string[]): Record<string, number> {
  const at: Record<string, number> = {};
  for (const l of lines) {
    let s: State;
    try {
      s = JSON.parse(l) as State;
    } catch {
      continue;
    }
    const u = s.update;
    if (u && at[u.phase] === undefined) at[u.phase] = Date.parse(u.at);
  }
  return at;
}

async function update(lab: Lab, bundle: string): Promise<{ times: Record<string, number>; code: number | null; wallSec: number }> {
  const lines: string[] = [];
  const sub = lab.brokerNs.spawn("mosquitto_sub", [...lab.operatorArgs(), "-t", `gate64/${lab.spec.deviceId}/state`], {
    log: (s) => lines.push(...s.split("\n")),
  });
  const t0 = Date.now();
  const r = await lab.fleetAsync("update", bundle, lab.spec.deviceId, "--serve", SERVE, "--timeout", "1500");
  const wallSec = (Date.now() - t0) / 1000;
  await sub.stop();
  return { times: phaseTimes(lines), code: r.code, wallSec };
}

const sec = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? null : Number(((b - a) / 1000).toFixed(1));

export async function run(args: string[]): Promise<void> {
  // --good-only: the good update alone (~8 min instead of ~25 under TCG).
  const goodOnly = args.includes("--good-only");
  const bundles = new TestBundles();
  const good = await bundles.build("good", "--version", "99.0.0");
  const bad = goodOnly ? null : await bundles.build("bad", "--version", "99.1.0", "--break-for-test", "coredns");
  const lab = new Lab({ image: "out/x86-64/disk.img", serial: "file", configOverrides: { health: { intervalSec: 10 } } });
  try {
    await lab.start();
    await lab.waitForHealthy();
    const g = await update(lab, good);
    const b = bad === null ? null : await update(lab, bad);
    report({
      bench: "update",
      bundleBytes: statSync(good).size,
      good: {
        exit: g.code,
        downloadSec: sec(g.times.downloading, g.times.installing),
        installSec: sec(g.times.installing, g.times.rebooting),
        rebootToHealthySec: sec(g.times.rebooting, g.times.done),
        commandToDoneSec: Number(g.wallSec.toFixed(1)),
      },
      ...(b === null
        ? {}
        : {
            bad: {
              exit: b.code,
              firstBootToRolledBackSec: sec(b.times.rebooting, b.times["rolled-back"]),
              commandToRolledBackSec: Number(b.wallSec.toFixed(1)),
            },
          }),
      secondUpdateBytes: statSync(good).size,
    });
  } finally {
    await lab.stop();
    bundles.remove();
  }
}
