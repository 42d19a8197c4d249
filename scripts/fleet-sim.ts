// npm run fleet:sim -- --agents N [--url URL] [--ca FILE] [--credentials FILE] [--id ID]
//   [--prefix sim] [--groups a,b] [--mqtt 4|5] [--telemetry SEC] [--keepalive SEC] [--shards K]
// Runs N simulated boxes (the real agent code on the in-memory system) against a real broker,
// sharded over K processes (default: one per 5,000 agents; one process holds at most ~19,900
// sockets here). Without --url it starts its own mosquitto on loopback. Ctrl-C ends it.
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type SimAgent, startSimAgent } from "../agent/src/fleet/sim.js";
import { type Broker, simBroker } from "./lab/broker.js";

const { values: a } = parseArgs({
  options: {
    agents: { type: "string", default: "1" },
    url: { type: "string" },
    ca: { type: "string" },
    credentials: { type: "string" },
    id: { type: "string" },
    prefix: { type: "string", default: "sim" },
    groups: { type: "string", default: "" },
    mqtt: { type: "string", default: "5" },
    telemetry: { type: "string", default: "30" },
    keepalive: { type: "string", default: "30" },
    shards: { type: "string" },
    shard: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});

const total = Number(a.agents);
export const simId = (prefix: string, i: number) => `${prefix}-${String(i).padStart(5, "0")}`;

/** One shard: agents i where i % shards === shard. Reports its agents and pid to the parent over IPC. */
async function runShard(shard: number, shards: number, url: string): Promise<() => Promise<void>> {
  const agents: SimAgent[] = [];
  const ca = a.ca ? readFileSync(a.ca, "utf8") : undefined;
  const credentials = a.credentials
    ? (JSON.parse(readFileSync(a.credentials, "utf8")) as { username: string; password: string })
    : undefined;
  const groups = a.groups ? a.groups.split(",") : [];
  // mosquitto's listen backlog is 100: start agents in small steps so connects are not dropped.
  for (let i = shard; i < total; i += shards) {
    agents.push(
      await startSimAgent({
        deviceId: a.id ?? simId(a.prefix, i),
        url,
        protocolVersion: a.mqtt === "4" ? 4 : 5,
        groups,
        telemetryIntervalSec: Number(a.telemetry),
        keepaliveSec: Number(a.keepalive),
        ...(ca ? { ca } : {}),
        ...(credentials ? { credentials } : {}),
        ...(a.quiet ? {} : { log: (l: string) => process.stdout.write(`${l}\n`) }),
      }),
    );
    if (agents.length % 40 === 0) await new Promise((r) => setTimeout(r, 25));
  }
  process.send?.({ started: agents.length, pid: process.pid });
  return async () => {
    await Promise.all(agents.map((x) => x.fleet.stop()));
  };
}

/** Runs `stop` once on SIGINT, SIGTERM or when the parent goes away, then exits. */
function onExit(stop: () => Promise<void>): void {
  let stopping = false;
  const end = () => {
    if (stopping) return;
    stopping = true;
    void stop().finally(() => process.exit(0));
  };
  process.on("SIGINT", end);
  process.on("SIGTERM", end);
  if (process.send) {
    process.on("disconnect", end);
    if (!process.connected) end(); // the parent left while the agents were starting
  }
}

async function main(): Promise<void> {
  if (a.shard !== undefined) return onExit(await runShard(Number(a.shard), Number(a.shards), a.url as string));
  let url = a.url;
  let broker: Broker | null = null;
  if (url === undefined) {
    const started = await simBroker(mkdtempSync(join(tmpdir(), "gate64-sim-")));
    broker = started.broker;
    url = broker.url;
    console.log(`fleet:sim: mosquitto at ${url} (pid ${broker.pid}); operator: gate64 fleet ls --fleet ${started.fleetFile}`);
  }
  const shards = Number(a.shards ?? Math.max(1, Math.ceil(total / 5000)));
  if (shards === 1) {
    // One process: the agents run here (a SIGKILL of this pid is a box losing power).
    const stopAgents = await runShard(0, 1, url);
    console.log(`fleet:sim: ${total} agent(s) running`);
    onExit(async () => {
      await stopAgents();
      await broker?.stop();
    });
    return;
  }
  const passThrough = process.argv
    .slice(2)
    .filter((x, i, all) => !["--url", "--shards"].includes(x) && !["--url", "--shards"].includes(all[i - 1] ?? ""));
  const t0 = Date.now();
  let started = 0;
  const children = Array.from({ length: shards }, (_, k) => {
    const c = fork(process.argv[1] as string, [...passThrough, "--url", url, "--shards", String(shards), "--shard", String(k)], {
      execArgv: process.execArgv,
    });
    c.on("message", (m: { started?: number; pid?: number }) => {
      started += m.started ?? 0;
      process.send?.(m); // a bench forking this simulator counts each shard's CPU by its pid
      if (started === total) console.log(`fleet:sim: ${total} agents started in ${shards} process(es) in ${Date.now() - t0} ms`);
    });
    return c;
  });
  onExit(async () => {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
    await broker?.stop();
  });
}

await main();
