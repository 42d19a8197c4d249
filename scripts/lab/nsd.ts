// NSD as the authoritative server the lab, the DNS64 tests and the DNS64 bench forward to.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface NsdZone {
  name: string;
  /** Zone file name inside dir. */
  file: string;
}

/** Writes dir/nsd.conf for `nsd -d -c`; everything NSD keeps stays in dir. Returns the conf path. */
export function writeNsdConf(dir: string, listen: { address: string; port?: number }, zones: NsdZone[]): string {
  const lines = [
    "server:",
    `  ip-address: ${listen.address}`,
    ...(listen.port === undefined ? [] : [`  port: ${listen.port}`]),
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: "${dir}"`,
    `  zonelistfile: "${dir}/zone.list"`,
    `  xfrdfile: "${dir}/xfrd.state"`,
    `  pidfile: "${dir}/nsd.pid"`,
    '  database: ""',
    "  server-count: 1",
    "  # NSD rate-limits a single source by default; here the only source is the resolver under test.",
    "  rrl-ratelimit: 0",
    "remote-control:",
    "  control-enable: no",
    ...zones.flatMap((z) => ["zone:", `  name: ${z.name}`, `  zonefile: ${z.file}`]),
  ];
  const path = join(dir, "nsd.conf");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}
