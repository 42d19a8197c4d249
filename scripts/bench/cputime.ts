// CPU time of a host process or thread, from its /proc stat file.
import { readFileSync } from "node:fs";

const USER_HZ = 100; // the clock ticks /proc counts in

/** utime + stime in seconds, from `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`. */
export function cpuSeconds(statFile: string): number {
  // Fields 14 and 15, the 12th and 13th after the ")" that ends the name (which may hold spaces).
  const stat = readFileSync(statFile, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}
