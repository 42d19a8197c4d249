// The lab's checks (scripts/lab/checks.ts) as node:test cases, each printing what it saw, and the
// serial console's last lines when it fails.
import { it } from "node:test";
import type { Check, Learned } from "../../scripts/lab/checks.js";
import type { Lab } from "../../scripts/lab/lab.js";

export function itChecks(checks: Check[], lab: () => Lab, learned: Learned): void {
  for (const check of checks) {
    it(check.name, async (t) => {
      try {
        t.diagnostic(await check.run(lab(), learned));
      } catch (err) {
        t.diagnostic(`serial console (last lines):\n${lab().tail(30)}`);
        throw err;
      }
    });
  }
}
