// What "the box works" means, checked from the outside with real clients: the IPv6-only client
// uses only what it learned from the RA; the WAN side sees nothing it was not given.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatIPv6, parseIPv6 } from "../../agent/src/lib/ip.js";
import { translatedTarget } from "../../agent/src/observe/probe-ns.js";
import { answersOfType, dig } from "./dig.js";
import type { Lab } from "./lab.js";
import { sh } from "./netns.js";
import { bytesFromTcpdump, parseRouterAdvert, type RouterAdvert } from "./ra.js";

export interface Check {
  name: string;
  run: (lab: Lab, learned: Learned) => Promise<string>;
}

/** What the client learned from the box's RA. */
export interface Learned {
  ra?: RouterAdvert;
  resolver?: string;
  pref64?: string;
}

/** The IPv6 address a client uses for an IPv4 one under the learned prefix (RFC 6052, any length). */
export function synthesize(pref64: string, v4: string): string {
  return translatedTarget(pref64, `${v4}:0`)[0];
}

export function captureRouterAdvert(lab: Lab): RouterAdvert {
  // Solicit while capturing: tcpdump prints the RA as hex; rdisc6 just asks for it.
  const dump = sh("sh", [
    "-c",
    `ip netns exec ${lab.client.name} timeout 20 tcpdump -l -n -i eth0 -c 1 -x 'icmp6 and ip6[40] == 134' 2>/dev/null & sleep 1; ip netns exec ${lab.client.name} rdisc6 -1 -q eth0 >/dev/null 2>&1; wait`,
  ]);
  return parseRouterAdvert(bytesFromTcpdump(dump));
}

/** Points the client namespace's resolv.conf (bind-mounted by `ip netns exec`) at the RDNSS. */
export function useResolver(lab: Lab, server: string): void {
  mkdirSync(`/etc/netns/${lab.client.name}`, { recursive: true });
  writeFileSync(`/etc/netns/${lab.client.name}/resolv.conf`, `nameserver ${server}\n`);
}

export function forgetResolver(lab: Lab): void {
  rmSync(`/etc/netns/${lab.client.name}`, { recursive: true, force: true });
}

function wanUnreachable(lab: Lab, proto: "tcp" | "udp", port: number, box = lab.spec.wan.box): boolean {
  if (proto === "udp") {
    const out = lab.internet.exec("sh", ["-c", `dig @${box} -p ${port} +tries=1 +time=2 lab.test A || true`]);
    return !out.includes("status:");
  }
  const r = lab.internet.exec("sh", ["-c", `timeout 3 bash -c '</dev/tcp/${box}/${port}' 2>/dev/null && echo open || echo closed`]);
  return r.trim() === "closed";
}

export const CHECKS: Check[] = [
  {
    name: "agent reports healthy to the lab broker",
    run: async (lab) => {
      const seconds = await lab.waitForHealthy();
      const avail = lab.subscribeOnce(`gate64/${lab.spec.deviceId}/availability`, 5);
      if (avail !== "ready") throw new Error(`availability is ${avail}`);
      return `health ok ${seconds.toFixed(1)} s after QEMU started; availability ready`;
    },
  },
  {
    name: "RA carries prefix, RDNSS and PREF64",
    run: async (lab, learned) => {
      const ra = captureRouterAdvert(lab);
      const rdnss = ra.rdnss[0]?.servers[0];
      const pref64 = ra.pref64[0]?.prefix;
      if (!rdnss) throw new Error("no RDNSS option");
      if (!pref64) throw new Error("no PREF64 option");
      if (ra.prefixes.length === 0) throw new Error("no prefix information");
      // RFC 8781 section 4.1: a client keeps the prefix at least as long as the router.
      const pref64Lifetime = ra.pref64[0]?.lifetime ?? 0;
      if (pref64Lifetime < ra.routerLifetime)
        throw new Error(`PREF64 lifetime ${pref64Lifetime} s is shorter than the router lifetime ${ra.routerLifetime} s`);
      Object.assign(learned, { ra, resolver: rdnss, pref64 });
      useResolver(lab, rdnss);
      return `prefix ${ra.prefixes[0]?.prefix}, RDNSS ${rdnss}, PREF64 ${pref64} (lifetime ${pref64Lifetime} s >= router ${ra.routerLifetime} s)`;
    },
  },
  {
    name: "client configured an address by SLAAC",
    run: async (lab, learned) => {
      const prefix = learned.ra?.prefixes[0]?.prefix.replace(/::\/64$/, ":") ?? "";
      let addr = "";
      for (let i = 0; i < 40 && !addr; i++) {
        addr = /inet6 (\S+)\/64 scope global/.exec(lab.client.ip("-6", "addr", "show", "dev", "eth0"))?.[1] ?? "";
        if (!addr) await new Promise((r) => setTimeout(r, 250));
      }
      if (!addr.startsWith(prefix)) throw new Error(`no global address in ${prefix}:/64 (got "${addr}")`);
      return addr;
    },
  },
  {
    name: "DNS64 synthesizes AAAA in the advertised prefix",
    run: async (lab, l) => {
      const r = dig(lab.client, l.resolver as string, `www.${lab.spec.zone.name}`, "AAAA");
      const want = synthesize(l.pref64 as string, lab.spec.internet.web);
      const got = answersOfType(r, "AAAA");
      if (!got.includes(formatIPv6(parseIPv6(want) ?? 0n))) throw new Error(`got ${got.join(", ") || r.status}, want ${want}`);
      return `www.${lab.spec.zone.name} AAAA ${got.join(", ")}`;
    },
  },
  {
    name: "documentation addresses outside the lab allow-list stay excluded",
    run: async (lab, l) => {
      const r = dig(lab.client, l.resolver as string, `excluded.${lab.spec.zone.name}`, "AAAA");
      if (r.status !== "NOERROR" || answersOfType(r, "AAAA").length > 0)
        throw new Error(`${r.status} ${answersOfType(r, "AAAA").join(", ")}`);
      return "192.0.2.80 not synthesized under 64:ff9b::/96 (RFC 6052 3.1)";
    },
  },
  {
    name: "ipv4only.arpa answers with the prefix",
    run: async (lab, l) => {
      const got = answersOfType(dig(lab.client, l.resolver as string, "ipv4only.arpa", "AAAA"), "AAAA");
      if (got.length !== 2) throw new Error(`got ${got.join(", ")}`);
      return got.join(", ");
    },
  },
  {
    name: "HTTP to the IPv4 web server by name through NAT64",
    run: async (lab) => {
      const body = lab.client.exec("curl", ["-6", "-sS", "--max-time", "10", `http://www.${lab.spec.zone.name}/`]);
      if (!body.includes("gate64 lab web server")) throw new Error(body.slice(0, 200));
      return body.trim();
    },
  },
  {
    name: "UDP exchange through NAT64",
    run: async (lab, l) => {
      const server = synthesize(l.pref64 as string, lab.spec.internet.dns);
      const r = dig(lab.client, server, `dns.${lab.spec.zone.name}`, "A");
      if (!answersOfType(r, "A").includes(lab.spec.internet.dns)) throw new Error(`${r.status} ${r.answer.map((a) => a.data).join(", ")}`);
      return `dig @${server} over UDP answered`;
    },
  },
  {
    name: "a burst of UDP datagrams crosses NAT64 merged by GRO and arrives as sent",
    run: async (lab, l) => {
      const received6 = () => {
        const metrics = lab.client.exec("curl", ["-sS", "--max-time", "10", "-g", `http://[${l.resolver}]:9164/metrics`]);
        return Number(/^gate64_jool_stat_total\{stat="JSTAT_RECEIVED6"\} (\d+)/m.exec(metrics)?.[1] ?? Number.NaN);
      };
      const csumErrors = () => Number(/^Udp: (?:\d+ ){6}(\d+)/m.exec(lab.internet.exec("cat", ["/proc/net/snmp"]))?.[1] ?? Number.NaN);
      const [jool0, csum0] = [received6(), csumErrors()];
      const target = synthesize(l.pref64 as string, lab.spec.internet.iperf);
      const udp = JSON.parse(lab.client.exec("iperf3", ["-6", "-c", target, "-u", "-l", "64", "-b", "0", "-t", "2", "-J"])) as {
        end: { sum: { packets: number; lost_packets: number } };
      };
      const delivered = udp.end.sum.packets - udp.end.sum.lost_packets;
      const [translated, csum] = [received6() - jool0, csumErrors() - csum0];
      if (!(delivered > 0 && translated > 0)) throw new Error(`delivered ${delivered}, Jool received ${translated}: not a measurement`);
      // One IPv6 packet into Jool per datagram delivered means nothing was merged (offloads "udp-gro").
      if (delivered <= translated) throw new Error(`${delivered} datagrams delivered from ${translated} packets into Jool: none merged`);
      if (csum !== 0) throw new Error(`${csum} UDP checksum errors at the receiver`);
      return `${delivered} 64-byte datagrams delivered (of ${udp.end.sum.packets}) from ${translated} packets into Jool; no checksum errors`;
    },
  },
  {
    name: "ping through NAT64",
    run: async (lab, l) => {
      const out = lab.client.exec("ping", ["-6", "-c", "3", "-i", "0.3", "-W", "3", synthesize(l.pref64 as string, lab.spec.internet.web)]);
      const m = /(\d+) received/.exec(out);
      if (!m || m[1] === "0") throw new Error(out.slice(-200));
      return `${m[1]}/3 replies`;
    },
  },
  {
    name: "hairpinning: a LAN client reaches another's mapping through the NAT64 prefix",
    run: async (lab, l) => {
      const out = lab.client.exec(process.execPath, [
        resolve(import.meta.dirname, "hairpin.mjs"),
        synthesize(l.pref64 as string, lab.spec.internet.web),
        String(lab.spec.internet.reflectorPort),
        l.pref64 as string,
      ]);
      const r = JSON.parse(out) as { ok: boolean; mappingOfA?: string; from?: string };
      if (!r.ok) throw new Error(out);
      return `A mapped to ${r.mappingOfA}; B's datagram to it came back from ${r.from}`;
    },
  },
  {
    name: "translator guard: the box's own and special IPv4 destinations are not translated",
    run: async (lab, l) => {
      const box = lab.spec.wan.box;
      const broadcast = lab.spec.wan.gateway.replace(/\.\d+$/, ".255");
      const special = ["0.0.0.1", "127.0.0.1", "169.254.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", broadcast];
      const control = lab.spec.internet.web;
      // What leaves the WAN from the box towards those destinations, plus a control datagram.
      const filter = `src host ${box} and (udp or tcp or icmp) and not udp dst port 67 and (dst net 0.0.0.0/8 or dst net 127.0.0.0/8 or dst net 169.254.0.0/16 or dst net 224.0.0.0/4 or dst net 240.0.0.0/4 or dst host ${broadcast} or (dst host ${control} and udp dst port 9))`;
      const seen: string[] = [];
      const capture = lab.internet.spawn("tcpdump", ["-i", "eth0", "-n", "-l", "-q", filter], {
        log: (t) => seen.push(...t.split("\n").filter((x) => /^\d\d:\d\d:\d\d\./.test(x))),
      });
      await new Promise((r) => setTimeout(r, 1500));
      const v6 = (a: string) => synthesize(l.pref64 as string, a);
      const ports = [22, 53, 8080, 8181, 9153, 9164];
      const script = [
        ...[...special, box].map((a) => `(ping -6 -c 1 -W 2 ${v6(a)} >/dev/null 2>&1; echo "ping ${a} $?") &`),
        ...special.map((a) => `(echo gate64 >/dev/udp/${v6(a)}/9) 2>/dev/null`),
        ...["127.0.0.1", box].flatMap((a) =>
          ports.map((p) => `(timeout 3 bash -c '</dev/tcp/${v6(a)}/${p}' 2>/dev/null && echo "open ${a}:${p}") &`),
        ),
        ...["127.0.0.1", "127.0.0.53", "127.0.0.54", box].map(
          (a) => `(dig @${v6(a)} +tries=1 +time=2 lab.test SOA | grep -q 'status:' && echo "dns ${a} answered") &`,
        ),
        `echo gate64 >/dev/udp/${v6(control)}/9`,
        "wait",
      ].join("\n");
      const out = lab.client.exec("bash", ["-c", script]);
      await new Promise((r) => setTimeout(r, 1500));
      await capture.stop();
      const answered = out.split("\n").filter((x) => /^(open|dns)|^ping \S+ 0$/.test(x));
      if (answered.length > 0) throw new Error(`answered through the translator: ${answered.join("; ")}`);
      const leaked = seen.filter((x) => !x.includes(`> ${control}.9:`));
      if (leaked.length > 0) throw new Error(`left the WAN: ${leaked.slice(0, 5).join(" | ")}`);
      if (seen.length === 0) throw new Error("the capture missed the control datagram: the check itself is broken");
      const metrics = lab.client.exec("curl", ["-sS", "--max-time", "10", "-g", `http://[${l.resolver}]:9164/metrics`]);
      const dropped = (reason: string) =>
        Number(new RegExp(`^gate64_guard_dropped_packets_total\\{reason="${reason}"\\} (\\d+)`, "m").exec(metrics)?.[1] ?? 0);
      if (dropped("special") === 0 || dropped("own") === 0)
        throw new Error(`guard counters did not move: special ${dropped("special")}, own ${dropped("own")}`);
      return `no answer from ${special.length + 1} addresses x ping/UDP and ${ports.length} TCP ports on loopback and WAN; nothing on the WAN but the control; dropped: special ${dropped("special")}, own ${dropped("own")}`;
    },
  },
  {
    name: "metrics on the management address, for the LAN only",
    run: async (lab, l) => {
      const url = `http://[${l.resolver}]:9164/metrics`;
      const text = lab.client.exec("curl", ["-sS", "--max-time", "10", "-g", url]);
      for (const m of ["gate64_jool_stat_total", "gate64_interface_rx_bytes_total", "coredns_dns_requests_total"])
        if (!text.includes(m)) throw new Error(`${m} missing from ${url}`);
      return `${text.split("\n").filter((x) => x && !x.startsWith("#")).length} samples`;
    },
  },
  {
    name: "WAN side: nothing answers that the config did not open",
    run: async (lab) => {
      const probes: ["tcp" | "udp", number][] = [
        ["udp", 53],
        ["tcp", 53],
        ["tcp", 22],
        ["tcp", 9164],
        ["tcp", 8080],
        ["tcp", 8181],
        ["tcp", 9153],
      ];
      // Positive controls first: the same probes do see the lab's own open services.
      if (wanUnreachable(lab, "tcp", 80, lab.spec.internet.web) || wanUnreachable(lab, "udp", 53, lab.spec.internet.dns))
        throw new Error("the probes cannot see open services: the check itself is broken");
      const open = probes.filter(([p, port]) => !wanUnreachable(lab, p, port));
      if (open.length > 0) throw new Error(`open on WAN: ${open.map(([p, n]) => `${p}/${n}`).join(", ")}`);
      // ping exits 1 when no reply came and 2 on an error, which must not count as silence.
      const ping = lab.internet.exec("sh", ["-c", `ping -c 2 -W 1 ${lab.spec.wan.box} >/dev/null 2>&1; echo $?`]).trim();
      if (ping === "0") throw new Error("the box answers ping on WAN (firewall.wanPing is false)");
      if (ping !== "1") throw new Error(`ping could not run (exit ${ping})`);
      return `${probes.map(([p, n]) => `${p}/${n}`).join(" ")} and ping: no answer`;
    },
  },
  {
    name: "fleet CLI lists the box and pushes a config it applies",
    run: async (lab) => {
      const id = lab.spec.deviceId;
      const ls = lab.fleet("ls");
      if (ls.code !== 0 || !new RegExp(`^${id}\\s+ready\\s+ok`, "m").test(ls.out))
        throw new Error(`fleet ls:\n${ls.out}\nfleet status ${id} (which probe):\n${lab.fleet("status", id).out}`);
      // Without its mqtt section: the box keeps its own broker settings (docs/protocol.md).
      const { mqtt: _own, ...base } = JSON.parse(readFileSync(lab.spec.boxConfig, "utf8")) as { identity?: object; mqtt?: object };
      const config = { ...base, identity: { ...base.identity, hostname: `${id}-fleet` } };
      const file = join(lab.dir, "desired.json");
      writeFileSync(file, JSON.stringify(config));
      const set = lab.fleet("config", "set", id, file, "--wait", "180");
      if (set.code !== 0 || !set.out.includes(`${id}: ok applied`)) throw new Error(`fleet config set:\n${set.out}`);
      const got = lab.fleet("config", "get", id, "--json");
      const running = JSON.parse(got.out) as { revision: number; config: { identity?: { hostname?: string } } };
      if (running.config.identity?.hostname !== `${id}-fleet`) throw new Error(`config get: ${got.out}`);
      return `${ls.out.split("\n")[1]?.replace(/\s+/g, " ")}; desired config applied as revision ${running.revision}`;
    },
  },
  {
    name: "broker away 60 s: the client keeps resolving and fetching; the agent is back within 30 s",
    run: async (lab, l) => {
      await lab.broker.stop();
      const failures: string[] = [];
      let rounds = 0;
      for (const until = Date.now() + 60_000; Date.now() < until; rounds++) {
        const r = dig(lab.client, l.resolver as string, `www.${lab.spec.zone.name}`, "AAAA");
        if (answersOfType(r, "AAAA").length === 0) failures.push(`dig: ${r.status}`);
        try {
          if (!lab.client.exec("curl", ["-6", "-sS", "--max-time", "5", `http://www.${lab.spec.zone.name}/`]).includes("gate64 lab"))
            failures.push("curl: body");
        } catch (e) {
          failures.push(`curl: ${(e as Error).message.split("\n")[0]}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (failures.length > 0) throw new Error(`${failures.length} failures in ${rounds} rounds: ${failures.slice(0, 3).join("; ")}`);
      await lab.broker.start();
      const t0 = Date.now();
      let back = false;
      while (!back && Date.now() - t0 < 30_000) back = lab.subscribeOnce(`gate64/${lab.spec.deviceId}/availability`, 2) === "ready";
      const secs = (Date.now() - t0) / 1000;
      if (!back) throw new Error("the agent did not republish its availability within 30 s of the broker's return");
      return `${rounds} rounds of dig + curl without a failure while the broker was away; agent back ${secs.toFixed(1)} s after the broker`;
    },
  },
];

export async function runChecks(lab: Lab, report: (ok: boolean, name: string, detail: string) => void): Promise<boolean> {
  const learned: Learned = {};
  let allOk = true;
  for (const c of CHECKS) {
    try {
      report(true, c.name, await c.run(lab, learned));
    } catch (err) {
      allOk = false;
      report(false, c.name, (err as Error).message);
      if (c === CHECKS[0] || c === CHECKS[1]) break; // nothing else can pass without these
    }
  }
  return allOk;
}
