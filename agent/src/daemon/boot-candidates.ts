// What the agent boots, in order of preference: config.json (migrated from an older format, or
// the copy kept for this firmware when a newer one wrote it), the last good revisions, the image's
// default configuration.
import type { RevisionStore } from "../apply/revisions.js";
import { keptCopyName, type MigrationPlan, planMigration } from "../config/migrate.js";
import { validateConfigText } from "../config/parse-text.js";
import type { Config } from "../config/schema.js";
import { formatProblems, validateConfig } from "../config/validate.js";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";
import type { Logger } from "./log.js";

export interface Loaded {
  config: Config;
  input: unknown;
  source: string;
}

/**
 * config.json in this firmware's format: an older one is migrated (the original kept as
 * config.v<N>.json until this slot is blessed); one a newer firmware wrote is read from the copy
 * that firmware kept for this version (the box came back from an update).
 */
async function configText(sys: System, log: Logger): Promise<{ text: string | null; source: string }> {
  const text = await sys.readFile(PATHS.config);
  if (text === null) return { text, source: PATHS.config };
  let plan: MigrationPlan;
  try {
    plan = planMigration(JSON.parse(text));
  } catch {
    return { text, source: PATHS.config }; // validation says what is wrong with it
  }
  if (plan.kind === "current") return { text, source: PATHS.config };
  if (plan.kind === "newer") {
    const kept = `${PATHS.data}/${plan.fallback}`;
    log(`config: ${PATHS.config} is format ${plan.version}, newer than this firmware's; reading ${kept}`);
    return { text: await sys.readFile(kept), source: kept };
  }
  const copy = `${PATHS.data}/${keptCopyName(plan.from)}`;
  if ((await sys.readFile(copy)) === null) await sys.writeFileAtomic(copy, text, 0o600);
  const migrated = `${JSON.stringify(plan.config, null, 2)}\n`;
  await sys.writeFileAtomic(PATHS.config, migrated, 0o600);
  log(`config: migrated ${PATHS.config} from format ${plan.from}; the original is kept as ${copy}`);
  return { text: migrated, source: PATHS.config };
}

async function loadConfigs(sys: System, log: Logger): Promise<Loaded[]> {
  const out: Loaded[] = [];
  const main = await configText(sys, log);
  for (const [file, text] of [
    [main.source, main.text],
    [PATHS.defaultConfig, await sys.readFile(PATHS.defaultConfig)],
  ] as const) {
    if (text === null) continue;
    const v = validateConfigText(text);
    if (v.ok) out.push({ config: v.config, input: JSON.parse(text), source: file });
    else log.error(`config: ${file} refused, falling back:\n${formatProblems(v.problems)}`);
  }
  if (out.length === 0) throw new Error(`no usable configuration in ${PATHS.config} or ${PATHS.defaultConfig}`);
  return out;
}

/**
 * What to boot, in order: config.json, then up to three earlier committed revisions (newest
 * first, the last good configurations, which normally keep the box on its fleet), then the image
 * default. The history is read only when config.json could not be put into effect, from the
 * newest record down as far as the fallbacks go, and only the revisions tried are validated: a box keeps up to system.keepRevisions records (100 by default),
 * and with 98 committed ones a TCG reboot spent 0.4-1.9 s reading and validating them before its
 * first log line (docs/benchmarks.md#boot).
 */
export async function* bootCandidates(sys: System, revisions: RevisionStore, log: Logger): AsyncGenerator<Loaded> {
  const loaded = await loadConfigs(sys, log);
  const main = loaded.filter((l) => l.source !== PATHS.defaultConfig);
  yield* main;
  const seen = new Set(main.map((l) => JSON.stringify(l.input)));
  let history = 0;
  for await (const r of revisions.newestFirst()) {
    if (history === 3) break;
    const key = JSON.stringify(r.config);
    if (r.outcome !== "committed" || seen.has(key)) continue;
    const v = validateConfig(r.config);
    if (!v.ok) continue;
    seen.add(key);
    history++;
    yield { config: v.config, input: r.config, source: `revision ${r.revision}` };
  }
  yield* loaded.filter((l) => l.source === PATHS.defaultConfig);
}
