// Provisioning: take the ESP's provision.json into /data (once), carry out a factory reset, keep
// the device identity stable, and render /etc/shadow (a symlink to /data/gate64/shadow) from the
// firmware's factory copy with the provisioned console hash. Without a hash root stays locked.
// gate64-provision.service runs it only when there is something to do (a file on the ESP, a
// reset asked for, no identity or shadow, or a firmware this /data has not been provisioned for:
// the stamp below): a boot with nothing to do starts no Node process before the console.
import { createHash } from "node:crypto";
import { formatPath, validateConfig } from "../config/validate.js";
import { readJson } from "../lib/read-json.js";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";
import { PROVISIONED_CONFIG, performReset } from "./factory-reset.js";
import { type Identity, IdentitySchema, ProvisionSchema } from "./schema.js";

/**
 * provisioned.<firmware version> in /data/gate64: this firmware's provisioning has run. The unit's
 * ConditionPathExists=|!/data/gate64/provisioned.%A (%A: os-release IMAGE_VERSION, the same
 * version) runs it again after an update, a rollback or a reset, which removes the stamp.
 */
export const STAMP_PREFIX = "provisioned.";

export interface ProvisionReport {
  provisioned: boolean;
  deviceId: string;
  consoleLogin: "enabled" | "locked";
  /** A factory reset carried out at this boot: its mode and the entries of /data/gate64 removed. */
  reset?: { mode: string; removed: string[] };
  problems: string[];
}

/** A stable id for an unprovisioned box: from the board's DMI UUID, else the first NIC's MAC. */
async function fallbackDeviceId(sys: System): Promise<string> {
  const source =
    (await sys.readFile("/sys/class/dmi/id/product_uuid"))?.trim() ||
    (await sys.readFile("/sys/class/net/lan/address"))?.trim() ||
    (await sys.readFile("/proc/sys/kernel/random/boot_id"))?.trim() ||
    "unknown";
  return `gate64-${createHash("sha256").update(source).digest("hex").slice(0, 10)}`;
}

/**
 * The factory shadow with root's password field set to the hash, or locked ("!") without one.
 * The last-change field stays empty: 0 would force a password change at the first login.
 */
export function renderShadow(factory: string, hash: string | null): string {
  const others = factory.split("\n").filter((line) => !line.startsWith("root:") && line !== "");
  return `${[`root:${hash ?? "!"}::0:99999:7:::`, ...others].join("\n")}\n`;
}

export async function provision(sys: System): Promise<ProvisionReport> {
  const problems: string[] = [];
  const reset = await performReset(sys);
  let identity: Identity | null = null;
  const id = await readJson(sys, PATHS.identity, IdentitySchema, (line) => problems.push(line));
  if (id.ok) identity = id.value;

  const text = await sys.readFile(PATHS.provision);
  let provisioned = false;
  if (text !== null) {
    let raw: unknown = null;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      problems.push(`provision.json: is not valid JSON: ${(err as Error).message}`);
    }
    const p = ProvisionSchema.safeParse(raw);
    if (raw !== null && !p.success) for (const i of p.error.issues) problems.push(`provision.json ${formatPath(i.path)}: ${i.message}`);
    if (p.success) {
      const v = p.data.config === undefined ? null : validateConfig(p.data.config);
      if (v && !v.ok) for (const x of v.problems) problems.push(`provision.json config.${x.path}: ${x.message}`);
      else {
        if (p.data.deviceId) identity = { deviceId: p.data.deviceId, provisionedAt: new Date(sys.now()).toISOString() };
        if (p.data.consolePasswordHash) await sys.writeFileAtomic(PATHS.consoleHash, `${p.data.consolePasswordHash}\n`, 0o600);
        if (p.data.config !== undefined) {
          const text = `${JSON.stringify(p.data.config, null, 2)}\n`;
          await sys.writeFileAtomic(PATHS.config, text, 0o600);
          await sys.writeFileAtomic(`${PATHS.data}/${PROVISIONED_CONFIG}`, text, 0o600);
        }
        if (p.data.mqttCredentials)
          await sys.writeFileAtomic(`${PATHS.mqttDir}/credentials.json`, `${JSON.stringify(p.data.mqttCredentials)}\n`, 0o600);
        if (p.data.mqttCa) await sys.writeFileAtomic(`${PATHS.mqttDir}/ca.pem`, p.data.mqttCa, 0o644);
        // A new provisioning starts fleet membership afresh (a decommissioned box rejoins).
        await sys.remove(PATHS.fleetState);
        provisioned = true;
      }
    }
    // The file may hold secrets: it leaves the FAT partition whether it was taken or refused
    // (a refused one is kept on /data for the technician to read).
    if (!provisioned) await sys.writeFileAtomic(`${PATHS.data}/provision.refused.json`, text, 0o600);
    await sys.remove(PATHS.provision);
  }

  if (identity === null) identity = { deviceId: await fallbackDeviceId(sys), provisionedAt: new Date(sys.now()).toISOString() };
  if (!id.ok || provisioned) await sys.writeFileAtomic(PATHS.identity, `${JSON.stringify(identity, null, 2)}\n`, 0o644);

  const hash = (await sys.readFile(PATHS.consoleHash))?.trim() || null;
  const factory = await sys.readFile(PATHS.factoryShadow);
  if (factory !== null) await sys.writeFileAtomic(PATHS.shadow, renderShadow(factory, hash), 0o640);
  await stamp(sys);
  return { provisioned, deviceId: identity.deviceId, consoleLogin: hash ? "enabled" : "locked", ...(reset ? { reset } : {}), problems };
}

/** Leaves this firmware's stamp, and only it: the other slot's firmware renders its own shadow. */
async function stamp(sys: System): Promise<void> {
  const version = (await sys.readFile(PATHS.version))?.trim();
  const mine = `${STAMP_PREFIX}${version}`;
  for (const name of await sys.list(PATHS.data))
    if (name.startsWith(STAMP_PREFIX) && name !== mine) await sys.remove(`${PATHS.data}/${name}`);
  if (version) await sys.writeFileAtomic(`${PATHS.data}/${mine}`, "", 0o644);
}
