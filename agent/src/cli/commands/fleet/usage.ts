import { COMMAND_NAMES } from "../../../fleet/protocol.js";

export const usage = `usage: gate64 fleet <command> [--fleet FILE] [--url URL] [--ca FILE] [--credentials FILE] [--mqtt 4|5] [--prefix P] [--json]

  ls [--group G] [--version V]            every box: availability, health, revisions, firmware, slot
  status DEVICE                           one box: state, health probes, last report
  watch [DEVICE] [--telemetry] [--share NAME]
                                          stream changes (shared subscription with --share)
  config get DEVICE [--revision N]        the config a box runs (or an earlier revision)
  config set DEVICE|--group G FILE [--wait SEC] [--revision N]
                                          publish a desired config and wait for the report(s)
  rollout FILE --group G [--canary N] [--batch M] [--timeout SEC]
                                          canaries first, then batches; stops at the first failure
  update BUNDLE|URL DEVICE|--group G [--serve ADDR:PORT] [--canary N] [--batch M] [--timeout SEC]
        [--allow-downgrade]               install firmware: canaries first, stops at a failure or rollback
  cmd DEVICE NAME [JSON-ARGS] [--timeout SEC]
                                          run a command (${COMMAND_NAMES.join(", ")})
  shell DEVICE                            remote terminal (when the box enables it)
  decommission DEVICE                     tell the box to leave and clear its retained topics
  dashboard [--listen ADDR:PORT] [--token-file FILE]
                                          the fleet in a browser page (default 127.0.0.1:8064;
                                          another address needs a token)
  schema                                  JSON Schema of every protocol message

Settings come from --fleet FILE, $GATE64_FLEET or ~/.config/gate64/fleet.json; the flags override them.
Exit codes: 0 ok, 1 refused or invalid, 2 usage, 3 failed (reverted, unhealthy), 4 broker or box unreachable.`;
