// Names and values more than one schema uses (device config, provisioning, fleet protocol,
// operator settings, CLI flags): each declared once, here.
import { z } from "zod";
import { parseAddress } from "../lib/ip.js";

/** Device ids: lowercase letters, digits and dashes, so they never collide with "_groups" or an "op_" operator. */
export const deviceId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: "must be 1-63 lowercase letters, digits or '-', starting with a letter or digit" });

export const groupName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: "must be 1-64 letters, digits, _ or -" });

export const mqttUrl = z
  .string()
  .max(2048)
  .regex(/^mqtts?:\/\/[^\s/]+(:\d{1,5})?\/?$/, { message: "must be mqtt://host[:port] or mqtts://host[:port]" });

/** How long a change may wait for `confirm` before it reverts. */
export const CONFIRM_RANGE = { min: 5, max: 3600 } as const;
export const confirmSeconds = z.number().int().min(CONFIRM_RANGE.min).max(CONFIRM_RANGE.max);

/** localhost, 127/8 or ::1, with or without brackets: where plain MQTT cannot be overheard. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  const a = parseAddress(bare);
  if (a === null) return false;
  return a.family === 4 ? a.value >> 24n === 127n : a.value === 1n;
}
