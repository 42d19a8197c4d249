// npm run lab [-- --board x86-64] [--smoke] [--image out/<board>/disk.img|disk.qcow2]
// Boots the built image in the QEMU lab. Without --smoke it leaves you at the serial console
// (Ctrl-A X quits); with --smoke it runs the checks, prints one line per check and exits
// non-zero on any failure. Namespaces and processes are removed on every exit.
import { parseArgs } from "node:util";
import { forgetResolver, runChecks } from "./lab/checks.js";
import { Lab } from "./lab/lab.js";

const { values } = parseArgs({
  options: {
    board: { type: "string", default: "x86-64" },
    smoke: { type: "boolean", default: false },
    image: { type: "string" },
  },
});
if (process.getuid?.() !== 0) {
  process.stderr.write("npm run lab must run as root (it creates network namespaces and taps)\n");
  process.exit(2);
}

const lab = new Lab({
  image: values.image ?? `out/${values.board}/disk.img`,
  board: values.board,
  serial: values.smoke ? "file" : "stdio",
  log: (l) => process.stderr.write(`${l}\n`),
});
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  forgetResolver(lab);
  await lab.stop().catch((e: unknown) => process.stderr.write(`lab: cleanup: ${String(e)}\n`));
  process.exit(code);
};
process.on("SIGINT", () => void stop(130));
process.on("SIGTERM", () => void stop(143));

try {
  await lab.start();
  if (values.smoke) {
    const ok = await runChecks(lab, (pass, name, detail) => process.stdout.write(`${pass ? "PASS" : "FAIL"}  ${name}: ${detail}\n`));
    if (!ok) process.stderr.write(`serial console log: kept in the output above; last lines:\n${lab.tail(40)}\n`);
    await stop(ok ? 0 : 1);
  } else {
    process.stderr.write(
      `lab: serial console below: log in as root, password ${lab.consolePassword} (this lab run only). Another shell: ip netns exec ${lab.client.name} bash (the IPv6-only client). The fleet: ip netns exec ${lab.brokerNs.name} node out/agent/gate64.cjs fleet ls --fleet ${lab.operatorConfig}\n`,
    );
    lab.onPowerOff = () => void stop(0);
  }
} catch (err) {
  process.stderr.write(`lab: ${(err as Error).message}\n`);
  await stop(1);
}
