// A reading of the box that readers share: a process costs about 50 ms of a TCG vCPU and the fork
// of the agent another 15-20 (docs/benchmarks.md#agent), and the health round, telemetry and a
// Prometheus scrape each want some of the same facts every 30 s.
import type { System } from "../system/system.js";

/**
 * Wraps a reader so that a caller gets the last reading if it is younger than the caller's
 * maxAgeMs (its own interval: it would not have read more often itself; 0 for a new reading),
 * and callers that ask while a reading runs wait for it. A failed reading is not shared: the next
 * caller reads again.
 */
export function sharedReading<T>(read: (sys: System) => Promise<T>): (sys: System, maxAgeMs: number) => Promise<T> {
  const readings = new WeakMap<System, { at: number; value: Promise<T> }>();
  return (sys, maxAgeMs) => {
    const last = readings.get(sys);
    if (last !== undefined && sys.now() - last.at < maxAgeMs) return last.value;
    const value = read(sys);
    readings.set(sys, { at: sys.now(), value });
    value.catch(() => {
      if (readings.get(sys)?.value === value) readings.delete(sys);
    });
    return value;
  };
}
