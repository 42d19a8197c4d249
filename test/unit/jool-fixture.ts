// Jool's output as the fake system gives it to the agent's readers.
import type { FakeSystem } from "../../agent/src/system/fake.js";

/**
 * `jool session display --<proto> --numeric --csv --no-headers` with `n` sessions, `perBib` of them
 * on each BIB entry (one IPv6 source port and one pool4 port, several destination ports).
 */
export function sessionCsv(proto: "TCP" | "UDP" | "ICMP", n: number, perBib = 1): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    const bib = Math.floor(i / perBib);
    const dport = 80 + (i % perBib);
    const state = proto === "TCP" ? ",ESTABLISHED" : "";
    out += `${proto},2001:db8:64::5,${40000 + bib},64:ff9b::c633:6450,${dport},192.0.2.1,${61000 + bib},198.51.100.80,${dport},01:59:58${state}\n`;
  }
  return out;
}

/** `jool` on the fake system: the instance "default" exists; every other query gets `answer(args)`. */
export function fakeJool(sys: FakeSystem, answer: (args: readonly string[]) => string): void {
  sys.handlers.set("jool", (args) => ({
    code: 0,
    stdout: args[0] === "instance" ? "0xffff8880,default,netfilter\n" : answer(args),
    stderr: "",
  }));
}
