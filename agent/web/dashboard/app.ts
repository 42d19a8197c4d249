// The fleet dashboard page: a live table of boxes from the server's event stream, a box's page
// with its probes, charts and config diff, and the actions an operator takes (with a
// confirmation). Preact + htm for the views, uPlot for the charts; bundled by esbuild.
import { html } from "htm/preact";
import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import type { Point, Row } from "../../src/dashboard/rows.js";

type Probe = { name: string; status: string; detail: string };
type Nic = { name: string; mac?: string; speedMbps?: number; driver?: string };
type Inventory = {
  system: { manufacturer?: string; model?: string; serial?: string };
  cpu: { model?: string; cores?: number; arch?: string };
  memoryBytes?: number;
  storage: { device: string; sizeBytes: number; type?: string }[];
  os: { distro?: string; release?: string; kernel?: string };
  nics: Nic[];
};
type Detail = { row: Row; health: { probes: Probe[] } | null; inventory: Inventory | null; points: Point[] };

const GiB = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;

function Hardware(props: { inv: Inventory }) {
  const i = props.inv;
  const join = (...xs: (string | number | undefined)[]) => xs.filter((x) => x !== undefined && x !== "").join(" ") || "-";
  return html`
    <h3>Hardware</h3>
    <dl class="facts" id="hardware">
      <dt>System</dt><dd>${join(i.system.manufacturer, i.system.model)}${i.system.serial ? ` (serial ${i.system.serial})` : ""}</dd>
      <dt>CPU</dt><dd>${join(i.cpu.model, i.cpu.cores ? `x${i.cpu.cores}` : undefined, i.cpu.arch)}</dd>
      <dt>Memory</dt><dd>${i.memoryBytes ? GiB(i.memoryBytes) : "-"}</dd>
      <dt>Storage</dt><dd>${i.storage.map((d) => join(d.device, GiB(d.sizeBytes), d.type)).join(", ") || "-"}</dd>
      <dt>OS</dt><dd>${join(i.os.distro, i.os.release, i.os.kernel ? `kernel ${i.os.kernel}` : undefined)}</dd>
      <dt>NICs</dt><dd>${i.nics.map((n) => join(n.name, n.mac, n.speedMbps === undefined ? undefined : `${n.speedMbps} Mb/s`, n.driver)).join("; ") || "-"}</dd>
    </dl>
  `;
}
type Snapshot = { rows: Row[]; groups: string[]; broker: string; rolling: string | null };
type RolloutLine = { group: string; line: string; done: boolean; ok?: boolean };

/** How many rows the table draws before asking for a filter (10,000 rows of DOM stay slow on a phone). */
const PAGE = 500;

const COLUMNS: { key: keyof Row; label: string; narrow?: boolean }[] = [
  { key: "id", label: "Box" },
  { key: "availability", label: "Availability" },
  { key: "health", label: "Health" },
  { key: "firmware", label: "Firmware", narrow: true },
  { key: "revision", label: "Config", narrow: true },
  { key: "update", label: "Update", narrow: true },
  { key: "lastSeen", label: "Last seen", narrow: true },
];

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-gate64-dashboard": "1" },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

function ago(iso: string | null): string {
  if (iso === null) return "-";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

function healthCell(r: Row) {
  return html`<span class=${`pill ${r.health}`}>${r.health}</span>${r.failing ? html` <span class="why">${r.failing}</span>` : null}`;
}

function configCell(r: Row) {
  if (r.desiredRevision === null) return String(r.revision ?? "-");
  const state = r.converged === true ? "converged" : r.converged === false ? "behind" : "";
  return html`${String(r.revision ?? "-")} <span class=${`pill ${state}`}>${r.converged ? "= desired" : `desired ${r.desiredRevision}`}</span>`;
}

function cell(r: Row, key: keyof Row) {
  switch (key) {
    case "id":
      return html`<a href=${`#/box/${encodeURIComponent(r.id)}`}>${r.id}</a>`;
    case "availability":
      return html`<span class=${`pill ${r.availability}`}>${r.availability}</span>`;
    case "health":
      return healthCell(r);
    case "firmware":
      return `${r.firmware ?? "-"}${r.slot ? ` (${r.slot})` : ""}`;
    case "revision":
      return configCell(r);
    case "lastSeen":
      return ago(r.lastSeen);
    default:
      return String(r[key] ?? "-");
  }
}

function FleetTable(props: { rows: Map<string, Row>; group: string; filter: string }) {
  const [sort, setSort] = useState<{ key: keyof Row; up: boolean }>({ key: "id", up: true });
  const [all, setAll] = useState(false);
  const list = useMemo(() => {
    const f = props.filter.toLowerCase();
    const rows = [...props.rows.values()].filter(
      (r) =>
        (props.group === "" || r.groups.includes(props.group)) &&
        (f === "" ||
          [r.id, r.availability, r.health, r.failing ?? "", r.firmware ?? "", r.update ?? ""].some((x) => x.toLowerCase().includes(f))),
    );
    const k = sort.key;
    rows.sort((a, b) => {
      const x = String(a[k] ?? "");
      const y = String(b[k] ?? "");
      return (sort.up ? 1 : -1) * x.localeCompare(y, undefined, { numeric: true });
    });
    return rows;
  }, [props.rows, props.group, props.filter, sort]);
  const shown = all ? list : list.slice(0, PAGE);
  return html`
    <table id="fleet">
      <thead>
        <tr>
          ${COLUMNS.map(
            (c) =>
              html`<th class=${c.narrow ? "wide-only" : ""} onClick=${() => setSort({ key: c.key, up: sort.key === c.key ? !sort.up : true })}>
                ${c.label}${sort.key === c.key ? (sort.up ? " ▲" : " ▼") : ""}
              </th>`,
          )}
        </tr>
      </thead>
      <tbody>
        ${shown.map(
          (r) => html`<tr key=${r.id} data-id=${r.id} data-availability=${r.availability} data-health=${r.health}>
            ${COLUMNS.map((c) => html`<td class=${c.narrow ? "wide-only" : ""}>${cell(r, c.key)}</td>`)}
          </tr>`,
        )}
      </tbody>
    </table>
    <p class="count" id="shown">
      ${shown.length} of ${list.length} shown
      ${list.length > shown.length ? html` <button onClick=${() => setAll(true)}>show all</button>` : null}
    </p>
  `;
}

function RolloutPanel(props: { groups: string[]; log: RolloutLine[]; rolling: string | null }) {
  const [group, setGroup] = useState("");
  const [config, setConfig] = useState("");
  const [canary, setCanary] = useState(1);
  const [batch, setBatch] = useState(50);
  const [error, setError] = useState("");
  const start = async () => {
    setError("");
    let parsed: unknown;
    try {
      parsed = JSON.parse(config);
    } catch (e) {
      setError(`config: not JSON: ${(e as Error).message}`);
      return;
    }
    const g = group || props.groups[0] || "";
    if (!confirm(`Roll this config out to group ${g}: ${canary} canary box(es) first, then batches of ${batch}?`)) return;
    const r = await post("/api/rollout", { group: g, config: parsed, canary, batch });
    if (r.status !== 202) setError(String(r.body.error));
  };
  return html`
    <details class="panel" id="rollout">
      <summary>Config rollout to a group${props.rolling ? ` (running: ${props.rolling})` : ""}</summary>
      <label>Group <select id="rollout-group" value=${group} onChange=${(e: Event) => setGroup((e.target as HTMLSelectElement).value)}>
        ${props.groups.map((g) => html`<option value=${g}>${g}</option>`)}
      </select></label>
      <label>Canaries <input id="rollout-canary" type="number" min="0" value=${canary} onInput=${(e: Event) => setCanary(Number((e.target as HTMLInputElement).value))} /></label>
      <label>Batch <input id="rollout-batch" type="number" min="1" value=${batch} onInput=${(e: Event) => setBatch(Number((e.target as HTMLInputElement).value))} /></label>
      <textarea id="rollout-config" rows="8" placeholder="the configuration, JSON" value=${config} onInput=${(e: Event) => setConfig((e.target as HTMLTextAreaElement).value)}></textarea>
      <button id="rollout-start" disabled=${props.rolling !== null} onClick=${start}>Start rollout</button>
      ${error ? html`<p class="error">${error}</p>` : null}
      <ol id="rollout-log">${props.log.map((l) => html`<li class=${l.done ? (l.ok ? "ok" : "failed") : ""}>${l.line}</li>`)}</ol>
    </details>
  `;
}

const SERIES: { title: string; unit: string; lines: { key: keyof Point; label: string }[] }[] = [
  { title: "NAT64 sessions", unit: "", lines: [{ key: "nat64Sessions", label: "sessions" }] },
  { title: "pool4 use", unit: "%", lines: [{ key: "pool4UsePercent", label: "pool4 %" }] },
  {
    title: "WAN throughput",
    unit: "bit/s",
    lines: [
      { key: "rxBitsPerSec", label: "in" },
      { key: "txBitsPerSec", label: "out" },
    ],
  },
  { title: "DNS queries", unit: "/s", lines: [{ key: "dnsQueriesPerSec", label: "queries/s" }] },
  { title: "Memory available", unit: "B", lines: [{ key: "memAvailableBytes", label: "bytes" }] },
];
const COLORS = ["#2563eb", "#d97706"];

/** 1234567 -> "1.2M": axis labels that fit. */
function si(v: number): string {
  const a = Math.abs(v);
  for (const [n, s] of [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ] as const)
    if (a >= n) return `${+(v / n).toFixed(1)}${s}`;
  return String(+v.toFixed(2));
}

function Chart(props: { points: Point[]; spec: (typeof SERIES)[number] }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = useMemo(
    () =>
      [
        props.points.map((p) => p.t / 1000),
        ...props.spec.lines.map((l) => props.points.map((p) => p[l.key] as number | null)),
      ] as uPlot.AlignedData,
    [props.points, props.spec],
  );
  useEffect(() => {
    if (el.current === null) return;
    plot.current = new uPlot(
      {
        width: Math.min(el.current.clientWidth || 320, 520),
        height: 160,
        legend: { show: true },
        series: [{}, ...props.spec.lines.map((l, i) => ({ label: l.label, stroke: COLORS[i] ?? "#555", width: 1.5, spanGaps: true }))],
        axes: [{}, { size: 50, values: (_u: uPlot, ticks: number[]) => ticks.map(si) }],
      },
      data,
      el.current,
    );
    // Follows the page's width (a phone turned, a window resized).
    const resize = new ResizeObserver(([e]) => plot.current?.setSize({ width: Math.min(e?.contentRect.width ?? 320, 520), height: 160 }));
    resize.observe(el.current);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
    };
  }, [props.spec]);
  useEffect(() => plot.current?.setData(data), [data]);
  return html`<figure class="chart"><figcaption>${props.spec.title}${props.spec.unit ? ` (${props.spec.unit})` : ""}</figcaption><div ref=${el}></div></figure>`;
}

function BoxPage(props: { id: string; row: Row | undefined }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [answer, setAnswer] = useState("");
  const [diff, setDiff] = useState<string[] | null>(null);
  useEffect(() => {
    let live = true;
    const load = async () => {
      const r = await fetch(`/api/box/${encodeURIComponent(props.id)}`);
      if (live && r.ok) setDetail((await r.json()) as Detail);
    };
    void load();
    const t = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [props.id, props.row?.health, props.row?.revision]);
  const act = async (name: "ping" | "health" | "reboot") => {
    if (!confirm(`${name} ${props.id}?`)) return;
    setAnswer(`${name}: waiting for ${props.id}…`);
    const r = await post("/api/command", { device: props.id, name });
    const b = r.body as { ok?: boolean; result?: unknown; error?: unknown };
    setAnswer(`${name}: ${r.status === 200 ? `ok ${JSON.stringify(b.result)}` : JSON.stringify(b.error ?? b)}`);
  };
  const compare = async () => {
    const r = await fetch(`/api/box/${encodeURIComponent(props.id)}/config`);
    const b = (await r.json()) as { diff?: string[]; desiredRevision?: number | null; error?: string };
    setDiff(r.ok ? (b.desiredRevision === null ? ["(nothing desired for this box)"] : (b.diff ?? [])) : [`error: ${b.error}`]);
  };
  const row = props.row ?? detail?.row;
  return html`
    <p><a href="#/">← all boxes</a></p>
    <h2 id="box-title">${props.id}</h2>
    ${
      row
        ? html`<dl class="facts">
          <dt>Availability</dt><dd><span class=${`pill ${row.availability}`}>${row.availability}</span></dd>
          <dt>Health</dt><dd>${healthCell(row)}</dd>
          <dt>Firmware</dt><dd>${row.firmware ?? "-"} ${row.slot ? `slot ${row.slot}` : ""}</dd>
          <dt>Config</dt><dd>${configCell(row)}</dd>
          <dt>Update</dt><dd>${row.update ?? "-"}</dd>
          <dt>Groups</dt><dd>${row.groups.join(", ") || "-"}</dd>
          <dt>Last seen</dt><dd>${ago(row.lastSeen)}</dd>
        </dl>`
        : html`<p>no such box</p>`
    }
    <div class="actions">
      <button id="act-ping" onClick=${() => act("ping")}>Ping</button>
      <button id="act-health" onClick=${() => act("health")}>Run health</button>
      <button id="act-reboot" class="danger" onClick=${() => act("reboot")}>Reboot</button>
      <button id="act-diff" onClick=${compare}>Compare config with desired</button>
    </div>
    ${answer ? html`<p id="answer">${answer}</p>` : null}
    ${diff ? html`<pre id="diff">${diff.length === 0 ? "running = desired" : diff.join("\n")}</pre>` : null}
    <h3>Health probes</h3>
    <table id="probes">
      ${(detail?.health?.probes ?? []).map((p) => html`<tr><td>${p.name}</td><td><span class=${`pill ${p.status}`}>${p.status}</span></td><td>${p.detail}</td></tr>`)}
    </table>
    ${detail?.inventory ? html`<${Hardware} inv=${detail.inventory} />` : null}
    <h3>Telemetry</h3>
    <div class="charts">${SERIES.map((s) => html`<${Chart} points=${detail?.points ?? []} spec=${s} />`)}</div>
  `;
}

function counts(all: Row[]): string {
  const n = (f: (r: Row) => boolean) => all.filter(f).length;
  const updating = n((r) => r.update !== null && !/^(done|failed|rolled-back)/.test(r.update));
  return `${all.length} boxes · ${n((r) => r.online)} online · ${n((r) => r.health === "failed")} unhealthy · ${n((r) => r.converged === false)} behind config · ${updating} updating`;
}

function App() {
  const [rows, setRows] = useState(new Map<string, Row>());
  const [groups, setGroups] = useState<string[]>([]);
  const [broker, setBroker] = useState("");
  const [connected, setConnected] = useState(false);
  const [rolling, setRolling] = useState<string | null>(null);
  const [log, setLog] = useState<RolloutLine[]>([]);
  const [group, setGroup] = useState("");
  const [filter, setFilter] = useState("");
  const [route, setRoute] = useState(location.hash);
  useEffect(() => {
    const onHash = () => setRoute(location.hash);
    addEventListener("hashchange", onHash);
    const es = new EventSource("/events");
    es.addEventListener("open", () => setConnected(true));
    es.addEventListener("error", () => setConnected(false));
    es.addEventListener("snapshot", (e) => {
      const s = JSON.parse((e as MessageEvent<string>).data) as Snapshot;
      setRows(new Map(s.rows.map((r) => [r.id, r])));
      setGroups(s.groups);
      setBroker(s.broker);
      setRolling(s.rolling);
    });
    es.addEventListener("rows", (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as { rows: Row[]; groups: string[] };
      setRows((old) => {
        const next = new Map(old);
        for (const r of d.rows) next.set(r.id, r);
        return next;
      });
      setGroups(d.groups);
    });
    es.addEventListener("rollout", (e) => {
      const l = JSON.parse((e as MessageEvent<string>).data) as RolloutLine;
      setRolling(l.done ? null : l.group);
      setLog((old) => [...old.slice(-200), l]);
    });
    return () => {
      es.close();
      removeEventListener("hashchange", onHash);
    };
  }, []);
  const all = [...rows.values()];
  const box = /^#\/box\/(.+)$/.exec(route)?.[1];
  const id = box === undefined ? undefined : decodeURIComponent(box);
  return html`
    <header>
      <h1>gate64 fleet</h1>
      <span class=${connected ? "live" : "offline"}>${connected ? `live · ${broker}` : "reconnecting…"}</span>
      <span class="counts" id="counts">${counts(all)}
      </span>
    </header>
    <main>
      ${
        id !== undefined
          ? html`<${BoxPage} id=${id} row=${rows.get(id)} />`
          : html`
            <div class="filters">
              <select id="group" value=${group} onChange=${(e: Event) => setGroup((e.target as HTMLSelectElement).value)}>
                <option value="">all groups</option>
                ${groups.map((g) => html`<option value=${g}>${g}</option>`)}
              </select>
              <input id="filter" type="search" placeholder="filter: id, state, probe, version" value=${filter}
                onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} />
            </div>
            <${RolloutPanel} groups=${groups} log=${log} rolling=${rolling} />
            <${FleetTable} rows=${rows} group=${group} filter=${filter} />
          `
      }
    </main>
  `;
}

render(html`<${App} />`, document.getElementById("app") as HTMLElement);
