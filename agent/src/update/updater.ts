// Firmware updates on the box: download (HTTP(S), size and SHA-256 from the command), RAUC checks
// the signature and board and writes the inactive slot, reboot, and after the reboot the outcome:
// done once the new slot passed its health gate, rolled-back when the old slot came back.
// The attempt lives on /data so that every step survives a power cut (docs/updates.md).
import { CONFIG_VERSION } from "../config/schema.js";
import { readJson } from "../lib/read-json.js";
import { DATA_IN_MEMORY, dataMount } from "../observe/data-mount.js";
import { PATHS } from "../paths.js";
import { DownloadTooLarge, type System } from "../system/system.js";
import {
  type Attempt,
  AttemptSchema,
  afterBoot,
  BUSY_PHASES,
  GateFailureSchema,
  type InstallRequest,
  MAX_BUNDLE_BYTES,
  statusOf,
  type UpdateStatus,
} from "./attempt.js";
import { entryOf, otherSlot, type Slot } from "./boot-entries.js";
import { bootedSlot, compatible, espEntries, strayFiles } from "./box.js";
import { GATE_FAILURE } from "./gate.js";
import { bundleInfo, install } from "./rauc.js";
import { compareVersions, isVersion } from "./version.js";

export const ATTEMPT_FILE = "attempt.json";
const BUNDLE = "bundle.raucb";
/**
 * Room a download leaves free on /data: the configuration's revisions, the attempt's own record
 * and Node's compile cache take a few MiB, and a /data filled by a bundle would refuse a config
 * change (its staging) and the record of the download's failure.
 */
export const KEEP_FREE_BYTES = 16 * 1024 * 1024;

const mib = (bytes: number) => `${(Math.max(0, bytes) / 2 ** 20).toFixed(1)} MiB`;
/** Why a bundle of `bytes` (null: more than room) is not downloaded. */
const noRoom = (bytes: number | null, room: number) =>
  `${bytes === null ? "the bundle" : `a bundle of ${mib(bytes)}`} does not fit on /data: ${mib(room)} free beyond the ${mib(KEEP_FREE_BYTES)} kept for the configuration`;

export class UpdateRefused extends Error {
  constructor(
    readonly code: "busy" | "invalid",
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface UpdaterDeps {
  sys: System;
  log: (line: string) => void;
  /** The running firmware version (usr/lib/gate64/VERSION). */
  version: string;
  /** Why an install must wait now (a config change awaiting confirmation), or null. */
  blocker: () => string | null;
  onChange: (s: UpdateStatus) => void;
}

export class Updater {
  private attempt: Attempt | null = null;
  private slot: Slot | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly deps: UpdaterDeps) {}

  private get dir(): string {
    return PATHS.updateDir;
  }

  status(): UpdateStatus | null {
    return this.attempt ? statusOf(this.attempt) : null;
  }

  bootedSlot(): Slot | null {
    return this.slot;
  }

  /** At agent start: what the last attempt came to, and no leftovers of an interrupted one. */
  async recover(): Promise<void> {
    const { sys, log } = this.deps;
    this.slot = await bootedSlot(sys).catch(() => null);
    const r = await readJson(sys, `${this.dir}/${ATTEMPT_FILE}`, AttemptSchema, log);
    if (r.ok && this.slot !== null) {
      const g = await readJson(sys, `${this.dir}/${GATE_FAILURE}`, GateFailureSchema, () => undefined);
      const next = afterBoot(
        r.value,
        {
          bootedSlot: this.slot,
          bootedVersion: this.deps.version,
          bootedCounting: await this.counting(),
          gateFailure: g.ok ? g.value : null,
        },
        this.now(),
      );
      if (next !== r.value) log(`update: ${r.value.phase} -> ${next.phase}${next.reason ? ` (${next.reason})` : ""}`);
      await this.save(next);
      if (next !== r.value && next.phase === "failed") await this.unstage(next.targetSlot);
    } else if (r.ok) this.attempt = r.value;
    await this.dropDownload();
  }

  /** Called every health round: a verifying attempt is done once the gate blessed the slot. */
  async refresh(): Promise<void> {
    if (this.attempt?.phase !== "verifying" || (await this.counting())) return;
    await this.save({ ...this.attempt, phase: "done", at: this.now() });
    this.deps.log(`update: version ${this.attempt.targetVersion} on slot ${this.slot} passed its health gate`);
  }

  /** Checks and starts an install; the result is the accepted status, progress follows on onChange. */
  async start(req: InstallRequest, by: string): Promise<UpdateStatus> {
    if (this.attempt && BUSY_PHASES.includes(this.attempt.phase))
      throw new UpdateRefused("busy", `an update to ${this.attempt.targetVersion ?? "?"} is ${this.attempt.phase}`);
    const blocker = this.deps.blocker();
    if (blocker !== null) throw new UpdateRefused("busy", blocker);
    if (this.slot === null) throw new UpdateRefused("invalid", "this box did not boot from an update slot (no rauc.slot=)");
    // The bundle is downloaded to /data: memory in its place (64 MiB) does not hold one.
    if ((await dataMount(this.deps.sys))?.inMemory) throw new UpdateRefused("busy", `${DATA_IN_MEMORY}: no room for a bundle`);
    const remote = /^https?:\/\//.test(req.url);
    if (!remote && !req.url.startsWith("/")) throw new UpdateRefused("invalid", "an http(s):// URL or an absolute path", "url");
    if (remote && req.size !== undefined) {
      const room = await this.room();
      if (req.size > room) throw new UpdateRefused("invalid", noRoom(req.size, room), "size");
    }
    const attempt: Attempt = {
      phase: "downloading",
      percent: 0,
      targetVersion: null,
      fromVersion: this.deps.version,
      by,
      at: this.now(),
      fromSlot: this.slot,
      targetSlot: otherSlot(this.slot),
    };
    await this.save(attempt);
    this.deps.log(`update: requested by ${by} from ${req.url}`);
    this.running = this.pipeline(req, remote)
      .catch(async (e: unknown) => {
        const reason = (e as Error).message;
        this.deps.log(`update: failed: ${reason}`);
        // The download goes first: on a /data it filled, the record below needs its room.
        await this.dropDownload();
        await this.save({ ...(this.attempt as Attempt), phase: "failed", reason: reason.slice(0, 1024), at: this.now() });
        await this.unstage(attempt.targetSlot);
      })
      // Not even the failure could be recorded: the next start finds the attempt cut short.
      .catch((e: unknown) => this.deps.log(`update: recording the failure: ${(e as Error).message}`))
      .finally(() => {
        this.running = null;
      });
    return statusOf(attempt);
  }

  /** Resolves when the running install (if any) has ended: for tests and a clean stop. */
  async settled(): Promise<void> {
    await this.running;
  }

  private async pipeline(req: InstallRequest, remote: boolean): Promise<void> {
    const { sys } = this.deps;
    let bundle = req.url;
    if (remote) {
      bundle = `${this.dir}/${BUNDLE}`;
      const part = `${bundle}.part`;
      await sys.remove(part);
      let shown = 0;
      const room = await this.room();
      const limit = req.size ?? MAX_BUNDLE_BYTES;
      const got = await sys
        .download(req.url, part, {
          maxBytes: Math.min(limit, room),
          timeoutMs: 60 * 60_000,
          onBytes: (n) => {
            const p = req.size ? Math.floor((100 * n) / req.size) : 0;
            if (p >= shown + 5) {
              shown = p;
              void this.progress(p);
            }
          },
        })
        .catch((e: unknown) => {
          if (e instanceof DownloadTooLarge && room < limit) throw new Error(noRoom(e.length, room));
          throw e;
        });
      if (req.size !== undefined && got.bytes !== req.size) throw new Error(`downloaded ${got.bytes} bytes, the command said ${req.size}`);
      if (req.sha256 !== undefined && got.sha256 !== req.sha256)
        throw new Error(`downloaded bundle has SHA-256 ${got.sha256}, the command said ${req.sha256}`);
      await sys.rename(part, bundle);
    } else if (req.sha256 !== undefined) {
      const r = await sys.run("sha256sum", [bundle], { timeoutMs: 300_000 });
      const sum = r.stdout.split(" ")[0];
      if (sum !== req.sha256) throw new Error(`${bundle} has SHA-256 ${sum}, expected ${req.sha256}`);
    }
    // Signature (rauc info checks it against the keyring), board and version, before a byte is written.
    const info = await bundleInfo(sys, bundle);
    const mine = await compatible(sys);
    if (info.compatible !== mine) throw new Error(`bundle is for ${info.compatible}, this box is ${mine}`);
    if (!isVersion(info.version)) throw new Error(`bundle version ${info.version} is not a semantic version`);
    const cmp = isVersion(this.deps.version) ? compareVersions(info.version, this.deps.version) : 1;
    if (cmp < 0 && !req.allowDowngrade)
      throw new Error(`bundle version ${info.version} is older than the running ${this.deps.version} (allowDowngrade to install it)`);
    await this.save({ ...(this.attempt as Attempt), phase: "installing", percent: 0, targetVersion: info.version, at: this.now() });
    this.deps.log(`update: installing ${info.version} into slot ${this.attempt?.targetSlot}`);
    await install(sys, bundle, (p) => void this.progress(p));
    await sys.remove(`${this.dir}/${BUNDLE}`);
    await sys.remove(`${this.dir}/${GATE_FAILURE}`);
    await this.save({ ...(this.attempt as Attempt), phase: "rebooting", percent: 100, at: this.now() });
    this.deps.log(`update: ${info.version} installed; rebooting into slot ${this.attempt?.targetSlot}`);
    setTimeout(() => void sys.run("systemctl", ["reboot"]), 2000).unref();
  }

  /** What a download may take of /data. */
  private async room(): Promise<number> {
    return (await this.deps.sys.freeBytes(PATHS.data)) - KEEP_FREE_BYTES;
  }

  /** A downloaded (or half-downloaded) bundle: it goes once installed, refused or interrupted. */
  private async dropDownload(): Promise<void> {
    await this.deps.sys.remove(`${this.dir}/${BUNDLE}`);
    await this.deps.sys.remove(`${this.dir}/${BUNDLE}.part`);
  }

  /** This slot is blessed: no rollback will need an older firmware's config any more. */
  private async dropKeptConfigs(): Promise<void> {
    for (const name of await this.deps.sys.list(PATHS.data)) {
      const m = /^config\.v(\d+)\.json$/.exec(name);
      if (m && Number(m[1]) < CONFIG_VERSION) {
        await this.deps.sys.remove(`${PATHS.data}/${name}`);
        this.deps.log(`update: blessed; ${name} (an older firmware's config) removed`);
      }
    }
  }

  /**
   * A UKI the pre-install handler staged (generation 0, no tries) goes when its install failed,
   * and so does a partial one that a power cut left while it was written.
   */
  private async unstage(slot: Slot): Promise<void> {
    const staged = (await espEntries(this.deps.sys)).filter((e) => e.slot === slot && e.generation === 0).map((e) => e.name);
    for (const name of [...staged, ...(await strayFiles(this.deps.sys))]) await this.deps.sys.remove(`${PATHS.espLinux}/${name}`);
  }

  private async progress(percent: number): Promise<void> {
    if (!this.attempt || percent <= this.attempt.percent) return;
    this.attempt = { ...this.attempt, percent, at: this.now() };
    this.deps.onChange(statusOf(this.attempt));
  }

  private async counting(): Promise<boolean> {
    if (this.slot === null) return false;
    const e = entryOf(await espEntries(this.deps.sys), this.slot);
    return e !== undefined && e.left !== null;
  }

  private async save(a: Attempt): Promise<void> {
    if (a.phase === "done" && this.attempt?.phase !== "done") await this.dropKeptConfigs();
    const changed = JSON.stringify(a) !== JSON.stringify(this.attempt);
    this.attempt = a;
    if (!changed) return;
    await this.deps.sys.writeFileAtomic(`${this.dir}/${ATTEMPT_FILE}`, JSON.stringify(a), 0o600);
    this.deps.onChange(statusOf(a));
  }

  private now(): string {
    return new Date(this.deps.sys.now()).toISOString();
  }
}
