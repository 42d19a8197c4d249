// The lab's checks (scripts/lab/checks.ts) as node:test cases, each printing what it saw, and the
// serial console's last lines when it fails; the first failure of a lab also prints what the box
// says about its units (Lab.postMortem).
import { it } from "node:test";
import type { Check, Learned } from "../../scripts/lab/checks.js";
import type { Lab } from "../../scripts/lab/lab.js";

export function itChecks(checks: Check[], lab: () => Lab, learned: Learned): void {
  let examined = false;
  for (const check of checks) {
    it(check.name, async (t) => {
      try {
        t.diagnostic(await check.run(lab(), learned));
      } catch (err) {
        t.diagnostic(`serial console (last lines):\n${lab().tail(30)}`);
        if (!examined) {
          examined = true;
          t.diagnostic(`the box's units:\n${await lab().postMortem()}`);
        }
        throw err;
      }
    });
  }
}
