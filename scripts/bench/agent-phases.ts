// The agent's start within a boot, read from its unit's journal (`journalctl -b -o
// short-monotonic -u gate64-agent`): when systemd started the unit, when Node had loaded the
// bundle and logged its first line, when the boot apply was done, and when the agent told systemd
// it was ready. Times are the guest's monotonic clock (seconds since its kernel started), so they
// compare with each other and with systemd-analyze, not with the bench's QEMU-clock figures.

export interface AgentPhases {
  unitStart: number;
  firstLine: number;
  applied: number;
  ready: number;
}

const MARKS: Record<keyof AgentPhases, RegExp> = {
  unitStart: / systemd\[1\]: Starting gate64-agent\.service/,
  firstLine: / node\[\d+\]: gate64-agent \S+: device /,
  applied: / node\[\d+\]: applied revision /,
  ready: / systemd\[1\]: Started gate64-agent\.service/,
};

/** Each phase's first line, NaN where the journal has none (the bench then names the figure). */
export function agentPhases(journal: string): AgentPhases {
  const lines = journal.split("\n");
  const at = (mark: RegExp) => {
    const line = lines.find((l) => mark.test(l));
    return Number(/^\[\s*(\d+\.\d+)\]/.exec(line ?? "")?.[1] ?? Number.NaN);
  };
  return {
    unitStart: at(MARKS.unitStart),
    firstLine: at(MARKS.firstLine),
    applied: at(MARKS.applied),
    ready: at(MARKS.ready),
  };
}

/** The steps between the phases: Node's start, the boot apply, the modules' start to ready. */
export function agentSteps(p: AgentPhases): { node: number; bootApply: number; toReady: number } {
  const r = (x: number) => +x.toFixed(2);
  return { node: r(p.firstLine - p.unitStart), bootApply: r(p.applied - p.firstLine), toReady: r(p.ready - p.applied) };
}
