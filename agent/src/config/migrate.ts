// Configuration formats across firmware versions (docs/updates.md#data-across-versions). A config
// carries its format version; a newer firmware migrates an older config.json at boot and keeps
// the original as config.v<N>.json until the new slot is blessed, so that a rollback to the older
// firmware finds a config it understands. Each migration is a pure function from one version to
// the next; version 1 is the first format, so the table is empty until the format changes.
import { CONFIG_VERSION } from "./schema.js";

export type Migration = (c: Record<string, unknown>) => Record<string, unknown>;
/** MIGRATIONS[n] turns a version n config into a version n + 1 one. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {};

export const versionOf = (raw: unknown): number => {
  const v = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>).version : undefined;
  return typeof v === "number" && Number.isInteger(v) && v >= 1 ? v : 1;
};

/** The file an older firmware's config is kept in while the newer slot is on trial. */
export const keptCopyName = (version: number) => `config.v${version}.json`;

export type MigrationPlan =
  | { kind: "current" }
  | { kind: "migrate"; from: number; config: Record<string, unknown> }
  /** Written by a newer firmware: read the copy it kept for this version instead. */
  | { kind: "newer"; version: number; fallback: string };

export function planMigration(raw: unknown, current = CONFIG_VERSION, table = MIGRATIONS): MigrationPlan {
  const from = versionOf(raw);
  if (from === current) return { kind: "current" };
  if (from > current) return { kind: "newer", version: from, fallback: keptCopyName(current) };
  let config = { ...(raw as Record<string, unknown>) };
  for (let v = from; v < current; v++) {
    const step = table[v];
    if (!step) throw new Error(`no migration of the configuration format from version ${v} to ${v + 1}`);
    config = { ...step(config), version: v + 1 };
  }
  return { kind: "migrate", from, config };
}
