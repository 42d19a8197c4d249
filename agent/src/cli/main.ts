// The gate64 command line: one table of commands, each in its own module loaded when used.
// `--help`/`-h` after any command prints that command's usage (stdout, exit 0); exit codes are
// the table in errors.ts, the same for console and fleet commands.
import type { CommandModule } from "./command.js";
import { CliError, EXIT, UsageError } from "./errors.js";
import { makeOutput } from "./output.js";

interface Command {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: Record<string, Command> = {
  config: { summary: "validate, render, show or change a configuration", load: () => import("./commands/config.js") },
  status: { summary: "what this box runs and how it is", load: () => import("./commands/status.js") },
  health: { summary: "run the health probes now [--watch]", load: () => import("./commands/health.js") },
  logs: {
    summary: "journal of the box's services (agent, coredns, network, provision, jool, update) [-f]",
    load: () => import("./commands/logs.js"),
  },
  fleet: {
    summary: "run many boxes over MQTT: ls, status, watch, config, rollout, cmd, shell",
    load: () => import("./commands/fleet/index.js"),
  },
  update: { summary: "firmware updates: install a bundle, status, the boot health gate", load: () => import("./commands/update.js") },
  reboot: { summary: "reboot the box", load: () => import("./commands/reboot.js") },
  "factory-reset": {
    summary: "wipe /data back to the provisioned state (or --full) and reboot",
    load: () => import("./commands/factory-reset.js"),
  },
  provision: { summary: "take the EFI partition's provision.json (run at boot)", load: () => import("./commands/provision.js") },
  completion: { summary: "bash completion: source <(gate64 completion bash)", load: () => import("./commands/completion.js") },
};

export function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ["usage: gate64 <command> [args] [--json]   (gate64 <command> --help for its usage)", "", "commands:", ...rows].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const args = argv.filter((a) => a !== "--json");
  const out = makeOutput(json);
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    out.print(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"\n\n${usage()}`);
    const mod = await command.load();
    if (rest.includes("--help") || rest.includes("-h")) {
      out.print(mod.usage);
      return EXIT.ok;
    }
    return await mod.run({ args: rest, out });
  } catch (err) {
    if (err instanceof CliError) {
      if (json) out.data({ ok: false, error: err.message, ...(err.detail === undefined ? {} : { detail: err.detail }) });
      else out.error(`gate64: ${err.message}`);
      return err.exitCode;
    }
    out.error(`gate64: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.failure;
  }
}
