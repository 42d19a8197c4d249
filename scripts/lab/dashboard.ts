// Starts `gate64 fleet dashboard` from the built CLI, as an operator would, and reads the URL it
// prints (with ?token= when it has one). The caller ends the process.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

export async function startDashboard(
  fleetFile: string,
  listen: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  const cli = resolve(import.meta.dirname, "../../out/agent/gate64.cjs");
  const child = spawn(process.execPath, [cli, "fleet", "dashboard", "--fleet", fleetFile, "--listen", listen, ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((ok, fail) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /dashboard: (http:\S+)/.exec(out);
      if (m) ok(m[1] as string);
    });
    child.once("exit", (code) => fail(new Error(`dashboard exited ${code}: ${out}`)));
  });
  return { child, url };
}
