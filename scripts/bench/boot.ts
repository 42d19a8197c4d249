// npm run bench -- boot [--board x86-64] [--reboots 3] [--no-stock]
// Boot time under QEMU TCG (2 vCPU) from QEMU start to the console login prompt (multi-user) and
// to the agent's first healthy report at the broker, and the LAN's first translated connection
// (the datapath comes up before the agent), plus systemd-analyze from inside and the agent's own
// start on the guest's clock (its unit's start, Node's first line, the boot apply, ready): the first
// boot (provisioning from the ESP's provision.json) and reboots after a clean poweroff (a
// router's every other boot: nothing to provision), whose median and spread are printed. With the
// stock comparison (default on), a stock Debian trixie root (systemd, udev, kmod, login) with the
// same kernel, initramfs and UKI command line is booted from slot B as many times, its median the
// ratios' reference.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ukiForSlot } from "../../agent/src/update/uki.js";
import type { SerialConsole } from "../lab/console.js";
import { editEsp, partition } from "../lab/disk.js";
import { Lab } from "../lab/lab.js";
import { waitFor } from "../lab/netns.js";
import { agentPhases, agentSteps } from "./agent-phases.js";
import { report, summary } from "./report.js";

async function timeToLogin(lab: Lab): Promise<number> {
  await waitFor("login prompt", () => existsSync(lab.serialLog) && /login: /.test(readFileSync(lab.serialLog, "utf8")), 300_000);
  return (Date.now() - lab.qemuStartedAt) / 1000;
}

/**
 * Seconds from QEMU's start to the LAN's first translated connection: the client's TCP connection
 * and HTTP request through NAT64 (pool6, no DNS) to the lab's web server, tried every 0.25 s. The
 * loop runs in the client's namespace and prints the time of its success itself: this process
 * blocks while it reads the broker (Lab.subscribeOnce), which would delay an exit event.
 */
async function timeToTranslation(lab: Lab, timeoutSec = 300): Promise<number> {
  const url = `http://[64:ff9b::${lab.spec.internet.web}]/`;
  const loop = `until curl -s -o /dev/null --max-time 1 '${url}'; do sleep 0.25; done; date +%s%3N`;
  const child = spawn("ip", ["netns", "exec", lab.client.name, "timeout", String(timeoutSec), "sh", "-c", loop], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  await once(child, "close");
  const at = Number(out.trim());
  return out.trim() === "" || !Number.isFinite(at) ? Number.NaN : (at - lab.qemuStartedAt) / 1000;
}

/** A disk like ours whose slot B holds a stock trixie root with our kernel; the ESP boots slot B. */
function stockDisk(board: string, image: string, dir: string): string {
  const WORK = `out/${board}/work`;
  const kver = readdirSync(join(WORK, "root/usr/lib/modules"))[0] as string;
  const root = join(dir, "stock-root");
  const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
  const { debianArch, suite } = JSON.parse(readFileSync(join(WORK, "board.json"), "utf8")) as { debianArch: string; suite: string };
  // The build's debstrap (scripts/image-lib.sh): its apt cache holds these packages already, so a
  // run downloads nothing the image's build fetched.
  const debstrap =
    'source scripts/lib.sh && source scripts/image-lib.sh && suite=$1 root=$2 && shift 2 && debstrap "$@" "$suite" "$root" "$(host_mirror)"';
  sh("bash", [
    "-c",
    debstrap,
    "stock-root",
    suite,
    root,
    debianArch,
    "--include=systemd,systemd-sysv,udev,kmod,login",
    `--customize-hook=cp -a ${WORK}/root/usr/lib/modules/${kver} "$1"/usr/lib/modules/`,
    '--customize-hook=chroot "$1" systemctl mask systemd-firstboot.service',
    '--customize-hook=rm -f "$1"/etc/hostname; : > "$1"/etc/machine-id',
  ]);
  sh("mksquashfs", [
    root,
    join(dir, "stock.squashfs"),
    "-noappend",
    "-quiet",
    "-comp",
    "zstd",
    "-Xcompression-level",
    "19",
    "-e",
    "boot",
    "-no-progress",
  ]);
  const disk = join(dir, "stock.img");
  // Raw, whichever format --image is (the slot and the ESP are written at their byte offsets).
  execFileSync("qemu-img", ["convert", "-O", "raw", image, disk]);
  const slotB = partition(disk, "gate64-root-b").startBytes;
  sh("dd", [`if=${join(dir, "stock.squashfs")}`, `of=${disk}`, "bs=1M", `seek=${slotB / 1024 / 1024}`, "conv=notrunc", "status=none"]);
  // The image's UKI made to boot slot B, as the pre-install handler makes it for an update.
  const ukiB = join(dir, "gate64-b.efi");
  writeFileSync(ukiB, ukiForSlot(readFileSync(join(WORK, "buildroot/tmp/uki/gate64.efi")), "b"));
  editEsp(disk, (esp) => {
    sh("mdel", ["-i", esp, "::EFI/Linux/gate64-1-a.efi"]);
    sh("mcopy", ["-i", esp, ukiB, "::EFI/Linux/gate64-1-b.efi"]);
  });
  return disk;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      board: { type: "string", default: "x86-64" },
      image: { type: "string" },
      reboots: { type: "string", default: "3" },
      "no-stock": { type: "boolean", default: false },
    },
  });
  const board = values.board;
  const image = values.image ?? `out/${board}/disk.img`;
  const lab = new Lab({ image, board, serial: "file" });
  let gate64Login = 0;
  let firstHealthy = Number.NaN;
  const rebootLogin: number[] = [];
  const rebootTranslation: number[] = [];
  const rebootHealthy: number[] = [];
  const rebootUnitStart: number[] = [];
  const rebootSteps: ReturnType<typeof agentSteps>[] = [];
  try {
    await lab.start();
    // The first boot's console stays logged in: the reboot is typed into it.
    let previous: SerialConsole | null = null;
    for (const boot of ["first", ...Array.from({ length: Number(values.reboots) }, () => "reboot")]) {
      if (previous !== null) await lab.reboot(previous);
      const since = Date.now();
      const translating = timeToTranslation(lab);
      const login = await timeToLogin(lab);
      const healthy = await lab.waitForHealthy(since);
      const translation = await translating;
      const con = await lab.console();
      const analyze = (await con.run("systemd-analyze time --no-pager")).output.replace(/\s+/g, " ").trim();
      // Where the time went: the chain the agent waited on and the slowest units (docs/benchmarks.md).
      const chain = (await con.run("systemd-analyze critical-chain --no-pager gate64-agent.service")).output;
      const blame = (await con.run("systemd-analyze blame --no-pager | head -n 12")).output;
      // The agent's own start: its log lines since the boot, on the monotonic clock.
      const agentLog = (await con.run("journalctl -b -o short-monotonic --no-pager -u gate64-agent | head -n 40")).output;
      const phases = agentPhases(agentLog);
      const steps = agentSteps(phases);
      const provisioned = await con.lastLine("systemctl show -P ConditionResult gate64-provision.service");
      previous = con; // lab.reboot closes it
      process.stderr.write(
        `${boot} boot: critical chain of gate64-agent.service:\n${chain}\nslowest units:\n${blame}\nagent:\n${agentLog.split("\n").slice(0, 12).join("\n")}\n`,
      );
      report({
        bench: "boot",
        board,
        image: "gate64",
        boot,
        provisioningRan: provisioned === "yes" ? 1 : 0,
        toLoginPromptSec: +login.toFixed(1),
        toTranslationSec: +translation.toFixed(1),
        toAgentHealthySec: +healthy.toFixed(1),
        // The guest's clock: where the agent's part of the boot goes (scripts/bench/agent-phases.ts).
        agentGuestSec: phases,
        agentStepsSec: steps,
        systemdAnalyze: analyze,
      });
      if (boot === "first") {
        gate64Login = login;
        firstHealthy = healthy;
      } else {
        rebootLogin.push(login);
        rebootTranslation.push(translation);
        rebootHealthy.push(healthy);
        rebootUnitStart.push(phases.unitStart);
        rebootSteps.push(steps);
      }
    }
    previous?.close();
    if (rebootLogin.length > 0)
      report({
        bench: "boot",
        board,
        image: "gate64",
        boot: "reboot",
        reboots: rebootLogin.length,
        toLoginPromptSec: summary(rebootLogin, 1),
        toTranslationSec: summary(rebootTranslation, 1),
        toAgentHealthySec: summary(rebootHealthy, 1),
        agentUnitStartGuestSec: summary(rebootUnitStart, 1),
        agentStepsSec: {
          node: summary(rebootSteps.map((x) => x.node)),
          bootApply: summary(rebootSteps.map((x) => x.bootApply)),
          toReady: summary(rebootSteps.map((x) => x.toReady)),
        },
      });
  } finally {
    await lab.stop();
  }
  if (values["no-stock"]) return;
  const stockLab = new Lab({ image, board, serial: "file" });
  const disk = stockDisk(board, image, stockLab.dir);
  const stock = new Lab({ image: disk, board, serial: "file" });
  try {
    await stock.start();
    // As many stock boots as gate64's; power cycles, since nothing persists on the stock root
    // (read-only, no fstab) and it has no console password. One boot varied by 30 % between runs.
    const logins: number[] = [];
    for (let i = 0; i <= Number(values.reboots); i++) {
      if (i > 0) {
        // QEMU's log is appended to across restarts: a new file, so the last prompt cannot count.
        rmSync(stock.serialLog, { force: true });
        await stock.powerCycle();
      }
      const t = await timeToLogin(stock);
      logins.push(t);
      report({ bench: "boot", board, image: "stock-trixie", boot: i + 1, toLoginPromptSec: +t.toFixed(1) });
    }
    const stockLogin = summary(logins, 1);
    report({ bench: "boot", board, image: "stock-trixie", boots: logins.length, toLoginPromptSec: stockLogin });
    const login = stockLogin.median;
    // Issue 14's goal: the agent's first healthy report against stock's login prompt (its median).
    report({
      bench: "boot",
      board,
      ratio: "gate64/stock",
      toLoginPrompt: +(gate64Login / login).toFixed(2),
      firstBootHealthyToStockLogin: +(firstHealthy / login).toFixed(2),
      rebootHealthyToStockLogin: rebootHealthy.length > 0 ? summary(rebootHealthy.map((h) => h / login)) : null,
    });
  } finally {
    await stock.stop();
    execFileSync("rm", ["-rf", stockLab.dir]);
  }
}
