// The provisioning file the flash step (or a person) puts on the EFI partition as
// gate64/provision.json. Read once at boot, moved to /data, deleted from the ESP.
import { z } from "zod";
import { deviceId } from "../config/ids.js";

export const ProvisionSchema = z.strictObject({
  $comment: z.string().optional(),
  deviceId: deviceId.optional(),
  /** A crypt(3) hash (yescrypt, sha-512 or bcrypt), e.g. from `mkpasswd -m yescrypt`. Never a password. */
  consolePasswordHash: z
    .string()
    .regex(/^\$(y|6|2b|gy)\$[./A-Za-z0-9$=]{10,200}$/, { message: "must be a crypt(3) hash such as the output of mkpasswd -m yescrypt" })
    .optional(),
  /** The first device configuration (validated like any other). */
  config: z.unknown().optional(),
  mqttCredentials: z.strictObject({ username: z.string().min(1).max(256), password: z.string().min(1).max(1024) }).optional(),
  mqttCa: z.string().max(65536).startsWith("-----BEGIN CERTIFICATE-----", { message: "must be a PEM certificate" }).optional(),
});

export type Provision = z.infer<typeof ProvisionSchema>;

export const IdentitySchema = z.strictObject({
  deviceId,
  provisionedAt: z.string(),
});
export type Identity = z.infer<typeof IdentitySchema>;
