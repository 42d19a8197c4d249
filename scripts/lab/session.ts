// A lab session for the end-to-end suites: the box booted and healthy, the host resolving through
// the box's DNS64 (as a LAN client would, from its router advertisement), a root console.
import { captureRouterAdvert, forgetResolver, useResolver } from "./checks.js";
import type { SerialConsole } from "./console.js";
import type { Lab } from "./lab.js";

export async function startSession(lab: Lab): Promise<SerialConsole> {
  await lab.start();
  await lab.waitForHealthy();
  useResolver(lab, captureRouterAdvert(lab).rdnss[0]?.servers[0] as string);
  return lab.console();
}

export async function endSession(lab: Lab | undefined, con: SerialConsole | undefined): Promise<void> {
  con?.close();
  if (lab) {
    forgetResolver(lab);
    await lab.stop();
  }
}
