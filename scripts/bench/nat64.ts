// npm run bench -- nat64 [--seconds N] [--conn-seconds N]
// In the lab: NAT64 (client -> 64:ff9b::/96 -> Jool -> IPv4 server) against plain IPv4 routing
// through the same VM (a temporary IPv4 subnet on the LAN for this run only), with offloads as
// shipped: TCP throughput, new TCP connections per second sustained (pool4 must not run dry),
// 64-byte UDP packet rate. One JSON object per line, ratios last.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { SerialConsole } from "../lab/console.js";
import { Lab } from "../lab/lab.js";

const V4_LAN = { box: "10.99.0.1", client: "10.99.0.2", prefix: 24, net: "10.99.0.0/24" };

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "10" },
      "conn-seconds": { type: "string", default: "60" },
      image: { type: "string", default: "out/x86-64/disk.img" },
    },
  });
  const secs = values.seconds;
  const lab = new Lab({ image: values.image, serial: "file" });
  try {
    await lab.start();
    await lab.waitForHealth("ok", 300);
    const con = new SerialConsole(lab.serialSocket);
    await con.login("root", lab.consolePassword);
    // Plain IPv4 routing for comparison: an IPv4 subnet on the LAN, forwarded by the same kernel.
    await con.run(`ip addr add ${V4_LAN.box}/${V4_LAN.prefix} dev lan`);
    // Routed IPv4 flows are tracked by conntrack (NAT64 flows are not: Jool takes them before
    // conntrack confirms them); at a few hundred new connections/s the default table (sized by
    // RAM) fills with TIME_WAIT entries and drops SYNs. Room for a minute of the test:
    await con.run("sysctl -q -w net.netfilter.nf_conntrack_max=262144");
    lab.client.ip("addr", "add", `${V4_LAN.client}/${V4_LAN.prefix}`, "dev", "eth0");
    lab.client.ip("route", "add", "default", "via", V4_LAN.box);
    lab.internet.ip("route", "add", V4_LAN.net, "via", lab.spec.wan.box);

    const server = lab.spec.internet.iperf;
    const paths = { nat64: `64:ff9b::${server}`, ipv4: server };
    const results: Record<string, Record<string, number>> = {};
    for (const [path, target] of Object.entries(paths)) {
      const fam = path === "nat64" ? "-6" : "-4";
      const tcp = JSON.parse(lab.client.exec("iperf3", [fam, "-c", target, "-t", secs, "-J"])) as {
        end: { sum_received: { bits_per_second: number } };
      };
      const udp = JSON.parse(lab.client.exec("iperf3", [fam, "-c", target, "-u", "-l", "64", "-b", "0", "-t", secs, "-J"])) as {
        end: { sum: { packets: number; lost_packets: number; seconds: number } };
      };
      const conn = JSON.parse(
        lab.client.exec(process.execPath, [resolve(import.meta.dirname, "connrate.mjs"), target, "80", values["conn-seconds"], "16"]),
      ) as { perSecond: number; failures: number; connections: number };
      const delivered = udp.end.sum.packets - udp.end.sum.lost_packets;
      results[path] = {
        tcpMbps: +(tcp.end.sum_received.bits_per_second / 1e6).toFixed(1),
        newTcpConnPerSec: conn.perSecond,
        connFailures: conn.failures,
        udp64PacketsPerSec: Math.round(delivered / udp.end.sum.seconds),
      };
      console.log(JSON.stringify({ bench: "nat64", path, ...results[path], connSeconds: Number(values["conn-seconds"]) }));
    }
    const full = (await con.run("dmesg | grep -c 'table full' || true")).output.trim().split("\n").pop();
    con.close();
    console.log(JSON.stringify({ bench: "nat64", conntrackTableFullMessages: Number(full) }));
    const n = results.nat64 as Record<string, number>;
    const v = results.ipv4 as Record<string, number>;
    console.log(
      JSON.stringify({
        bench: "nat64",
        ratio: "nat64/ipv4",
        tcpThroughput: +((n.tcpMbps ?? 0) / (v.tcpMbps ?? 1)).toFixed(2),
        newTcpConnPerSec: +((n.newTcpConnPerSec ?? 0) / (v.newTcpConnPerSec ?? 1)).toFixed(2),
        udp64Packets: +((n.udp64PacketsPerSec ?? 0) / (v.udp64PacketsPerSec ?? 1)).toFixed(2),
        reference: { tcpThroughput: 0.89, newTcpConnPerSec: 0.7, udp64Packets: 0.69 },
      }),
    );
  } finally {
    await lab.stop();
  }
}
