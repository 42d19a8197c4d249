// gate64 fleet dashboard [--listen ADDR:PORT] [--token-file FILE]: the fleet in a browser page
// (docs/dashboard.md), served from this machine until interrupted.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Dashboard } from "../../../dashboard/server.js";
import { CliError, EXIT } from "../../errors.js";
import type { Verb } from "./common.js";

/** out/agent/dashboard beside the bundled CLI, whether it runs as out/agent/gate64.cjs or through bin/. */
function assetsDir(): string {
  const here = dirname(process.argv[1] ?? ".");
  const candidates = [process.env.GATE64_DASHBOARD_ASSETS, join(here, "dashboard"), join(here, "../out/agent/dashboard")];
  const found = candidates.find((d) => d !== undefined && existsSync(join(d, "index.html")));
  if (found === undefined) throw new CliError("the dashboard's page is not built: run `npm run build`", EXIT.unavailable);
  return found;
}

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) throw new CliError(`--listen: expected ADDRESS:PORT or [IPv6]:PORT, got "${value}"`, EXIT.usage);
  return { host: (m[1] ?? m[2]) as string, port };
}

export const run: Verb = async (op, _args, flags, out) => {
  const { host, port } = parseListen(flags.listen ?? "127.0.0.1:8064");
  let token: string | undefined;
  if (flags["token-file"] !== undefined) {
    try {
      token = readFileSync(flags["token-file"], "utf8").trim();
    } catch (e) {
      throw new CliError(`--token-file: ${(e as Error).message}`, EXIT.usage);
    }
  }
  let d: Dashboard;
  try {
    d = new Dashboard({ op, host, port, ...(token ? { token } : {}), assets: assetsDir(), log: (l) => out.print(l) });
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.usage);
  }
  await d.start();
  // The token goes on the terminal only: the page turns it into a cookie and drops it from the URL.
  out.print(`dashboard: ${d.url}${token ? `?token=${token}` : ""} (Ctrl-C ends it)`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    op.client.once("close", resolve);
  });
  await d.stop();
  return EXIT.ok;
};
