// The CyAgents dashboard. One snapshot from the API, then every change from the event stream (GET /v1/events): no polling.
// The operator token lives only in this tab's sessionStorage and goes to the same origin as a bearer token; it is traded
// once for an HttpOnly session cookie that only the event stream accepts, since EventSource cannot send headers (ADR 0128).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const colors = { cpu: "#2563eb", memory: "#16a34a", tokens: "#d97706", attention: "#9333ea" };
const statusColors = { Open: "#9ca3af", Clearing: "#f59e0b", Settled: "#3b82f6", Running: "#8b5cf6", Completed: "#16a34a" };
// Every event type the stream sends (EventTypes on the server). EventSource delivers a named event only to a listener of that name.
const eventTypes = [
  "cycle.started", "cycle.settled", "cycle.completed", "bid.placed", "bid.settled",
  "execution.started", "execution.output", "execution.ended", "execution.resized", "execution.preempted",
  "agent.spawned", "agent.retired", "prompt.posted", "prompt.answered", "prompt.expired",
  "task.posted", "task.submitted", "task.verified", "task.awarded", "task.expired", "llm.call", "ledger.transfer",
];
const maxFeed = 100, maxTimeline = 40, pageSize = 200, maxOutputLines = 200;

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("cyagents.operatorToken") || "";
const state = {
  agents: new Map(), // id -> AgentSummary
  cycles: new Map(), // number -> CycleResponse (or the fields events carry)
  units: {},         // kind -> unit
  seq: 0,            // the last event applied
  stream: null,
  openAgent: null,   // the agent whose page is shown
};

async function api(path, init = {}) {
  const headers = Object.assign({ "Accept": "application/json" }, init.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch(path, Object.assign({}, init, { headers }));
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && (body.detail || body.title) || response.statusText;
    throw new Error(`${response.status} ${detail}`);
  }
  return body;
}

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

function svg(tag, attributes, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function cell(text, numeric) {
  const td = el("td", text === null || text === undefined ? "–" : text);
  if (numeric) td.className = "num";
  return td;
}

function fillTable(id, rows) {
  $(id).tBodies[0].replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "muted";
}

// ---------- market: current prices and prices over time ----------

async function loadMarket() {
  const market = await api("/v1/market/prices");
  $("next-cycle").textContent = `next cycle ${market.nextCycle}`;
  for (const r of market.resources) state.units[r.kind] = r.unit;
  fillTable("market", market.resources.map((r) => [
    cell(`${r.kind} (${r.unit})`),
    cell(r.price.toPrecision(4), true),
    cell(r.supply, true),
    cell((r.utilization * 100).toFixed(1) + " %", true),
  ]));
  const history = await api("/v1/market/history?cycles=100");
  drawPrices(history.entries);
}

/** Round numbers near [lo, hi] for an axis: about `count` ticks at 1, 2 or 5 times a power of ten. */
function ticks(lo, hi, count) {
  if (hi === lo) { hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1); lo = lo - (hi - lo); }
  const raw = (hi - lo) / count, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  // From the step at or below lo to the step at or above hi, so every point lies inside the axis.
  const out = [];
  const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
  for (let i = first; i <= last; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

function formatTick(v) {
  const a = Math.abs(v);
  return a !== 0 && (a < 0.001 || a >= 1e6) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

// One chart per resource: the kinds are counted in different units, so each gets its own price axis.
function drawPrices(entries) {
  const byKind = {};
  for (const e of entries) (byKind[e.kind] = byKind[e.kind] || []).push(e);
  const charts = Object.entries(byKind).map(([kind, points]) => priceChart(kind, points.sort((a, b) => a.cycle - b.cycle)));
  $("prices").replaceChildren(...(charts.length ? charts : [el("p", "No settled cycle yet.", "muted")]));
}

function priceChart(kind, points) {
  const W = 320, H = 180, L = 58, R = 10, T = 22, B = 34;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "price-chart", "data-kind": kind, role: "img", "aria-label": `${kind} price by cycle` });
  const xs = points.map((p) => p.cycle), ys = points.map((p) => p.price);
  const xt = ticks(Math.min(...xs), Math.max(...xs), 5).filter((v) => Number.isInteger(v) && v >= Math.min(...xs) && v <= Math.max(...xs));
  const yt = ticks(Math.min(0, ...ys), Math.max(...ys), 4);
  const [x0, x1] = [Math.min(...xs, ...xt), Math.max(...xs, ...xt)], [y0, y1] = [Math.min(...yt), Math.max(...yt)];
  const sx = (x) => L + (x1 === x0 ? (W - L - R) / 2 : (x - x0) / (x1 - x0) * (W - L - R));
  const sy = (y) => H - B - (y1 === y0 ? 0 : (y - y0) / (y1 - y0) * (H - T - B));
  const unit = state.units[kind] || "unit";
  chart.append(svg("text", { x: L, y: 14, class: "chart-title" }, `${kind}: credits per ${unit.replace(/s$/, "")}`));
  chart.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis x-axis" }));
  chart.append(svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis y-axis" }));
  for (const v of yt) {
    chart.append(svg("line", { x1: L - 4, y1: sy(v), x2: W - R, y2: sy(v), class: "grid" }));
    chart.append(svg("text", { x: L - 6, y: sy(v) + 4, class: "tick y-tick", "text-anchor": "end" }, formatTick(v)));
  }
  for (const v of xt) {
    chart.append(svg("line", { x1: sx(v), y1: H - B, x2: sx(v), y2: H - B + 4, class: "axis" }));
    chart.append(svg("text", { x: sx(v), y: H - B + 15, class: "tick x-tick", "text-anchor": "middle" }, v));
  }
  chart.append(svg("text", { x: (L + W - R) / 2, y: H - 4, class: "axis-label", "text-anchor": "middle" }, "cycle"));
  chart.append(svg("polyline", {
    points: points.map((p) => `${sx(p.cycle).toFixed(1)},${sy(p.price).toFixed(1)}`).join(" "),
    fill: "none", stroke: colors[kind] || "#555", "stroke-width": 2, "data-kind": kind,
  }));
  for (const p of points) {
    const dot = svg("circle", { cx: sx(p.cycle), cy: sy(p.price), r: 2.5, fill: colors[kind] || "#555" });
    dot.append(svg("title", {}, `cycle ${p.cycle}: ${p.price} credits per ${unit}, utilization ${(p.utilization * 100).toFixed(1)} %`));
    chart.append(dot);
  }
  return chart;
}

// ---------- agents: table and lineage ----------

async function loadAgents() {
  state.agents.clear();
  let first = null;
  for (let skip = 0; ; skip += pageSize) {
    const page = await api(`/v1/agents?skip=${skip}&take=${pageSize}`);
    first = first || page;
    for (const a of page.items) state.agents.set(a.id, a);
    if (skip + pageSize >= page.total || page.items.length === 0) break;
  }
  // The first page's position is the earliest: events after it are replayed, never missed.
  return first.eventSeq;
}

function agentRow(a) {
  const tr = document.createElement("tr");
  tr.dataset.agentId = a.id;
  const link = el("a", a.id);
  link.href = "#agent=" + encodeURIComponent(a.id);
  const id = el("td");
  id.append(link);
  tr.append(id);
  for (const [field, numeric] of [["name"], ["status"], ["generation", true], ["parentId"], ["posted", true], ["reserved", true], ["available", true]]) {
    const td = cell(a[field], numeric);
    td.dataset.field = field;
    tr.append(td);
  }
  return tr;
}

function renderAgents() {
  const rows = [...state.agents.values()].map(agentRow);
  $("agents").tBodies[0].replaceChildren(...rows);
  $("agents-count").textContent = `${state.agents.size} agents`;
  $("agents-hint").textContent = state.agents.size === 0 ? "No agent yet." : "";
  drawLineage();
}

function updateAgentRow(a) {
  const existing = $("agents").querySelector(`tr[data-agent-id="${CSS.escape(a.id)}"]`);
  if (!existing) { $("agents").tBodies[0].append(agentRow(a)); $("agents-count").textContent = `${state.agents.size} agents`; return; }
  for (const td of existing.querySelectorAll("td[data-field]")) {
    const v = a[td.dataset.field];
    const text = v === null || v === undefined ? "–" : String(v);
    if (td.textContent !== text) {
      td.textContent = text;
      // Restart the highlight's CSS animation: drop the class, force a style flush, add it again.
      td.classList.remove("changed");
      void td.offsetWidth;
      td.classList.add("changed");
    }
  }
}

// A tree per root: leaves get consecutive columns, a parent sits above the middle of its children, generations are rows.
function drawLineage() {
  const box = $("lineage");
  const children = new Map();
  const roots = [];
  for (const a of state.agents.values()) {
    if (a.parentId && state.agents.has(a.parentId)) {
      if (!children.has(a.parentId)) children.set(a.parentId, []);
      children.get(a.parentId).push(a);
    } else roots.push(a);
  }
  const pos = new Map();
  let column = 0, depth = 0;
  const place = (a, row) => {
    depth = Math.max(depth, row);
    const kids = children.get(a.id) || [];
    if (kids.length === 0) { pos.set(a.id, [column++, row]); return; }
    for (const k of kids) place(k, row + 1);
    const xs = kids.map((k) => pos.get(k.id)[0]);
    pos.set(a.id, [(Math.min(...xs) + Math.max(...xs)) / 2, row]);
  };
  for (const r of roots) place(r, 0);
  const dx = 70, dy = 56, pad = 30;
  const x = (c) => pad + c * dx, y = (r) => pad + r * dy;
  box.setAttribute("width", String(Math.max(600, pad * 2 + Math.max(0, column - 1) * dx)));
  box.setAttribute("height", String(pad * 2 + depth * dy));
  const edges = [], nodes = [];
  for (const a of state.agents.values()) {
    const [c, r] = pos.get(a.id);
    if (a.parentId && pos.has(a.parentId)) {
      const [pc, pr] = pos.get(a.parentId);
      edges.push(svg("line", { x1: x(pc), y1: y(pr) + 8, x2: x(c), y2: y(r) - 8, class: "edge", "data-parent": a.parentId, "data-child": a.id }));
    }
    const g = svg("g", { class: "node" + (a.status === "Retired" ? " retired" : ""), "data-agent-id": a.id, transform: `translate(${x(c)},${y(r)})` });
    g.append(svg("circle", { r: 8 }), svg("text", { y: 22, "text-anchor": "middle" }, a.name.length > 10 ? a.name.slice(0, 9) + "…" : a.name));
    g.append(svg("title", {}, `${a.id} (${a.name}), generation ${a.generation}, available ${a.available}`));
    g.addEventListener("click", () => { location.hash = "agent=" + encodeURIComponent(a.id); });
    nodes.push(g);
  }
  box.replaceChildren(...edges, ...nodes);
}

// ---------- cycles: timeline and table ----------

async function loadCycles() {
  const cycles = await api(`/v1/cycles?take=${maxTimeline}`);
  state.cycles.clear();
  for (const c of cycles.items) state.cycles.set(c.number, c);
  renderCycles();
}

function renderCycles() {
  const list = [...state.cycles.values()].sort((a, b) => b.number - a.number).slice(0, maxTimeline);
  fillTable("cycles", list.slice(0, 20).map((c) => [
    cell(c.number, true), cell(c.status), cell(c.mechanism), cell(c.bidCount, true), cell(c.winnerCount, true),
    cell(c.welfare, true), cell(c.revenue, true), cell(c.invariantHeld === null || c.invariantHeld === undefined ? "–" : c.invariantHeld ? "held" : "BROKEN"),
  ]));
  const box = $("timeline");
  const ordered = list.slice().reverse();
  const w = 900 / maxTimeline;
  const most = Math.max(1, ...ordered.map((c) => c.bidCount || 0));
  const parts = [svg("line", { x1: 0, y1: 70, x2: 900, y2: 70, class: "axis" })];
  ordered.forEach((c, i) => {
    const h = 10 + 50 * (c.bidCount || 0) / most;
    const rect = svg("rect", { x: i * w + 2, y: 70 - h, width: w - 4, height: h, fill: statusColors[c.status] || "#999", class: "cycle", "data-cycle": c.number, "data-status": c.status });
    rect.append(svg("title", {}, `cycle ${c.number}: ${c.status}, ${c.bidCount ?? "?"} bids, ${c.winnerCount ?? "?"} winners, revenue ${c.revenue ?? "?"}`));
    parts.push(rect);
    if (i % 5 === 0 || i === ordered.length - 1) parts.push(svg("text", { x: i * w + w / 2, y: 84, "text-anchor": "middle", class: "tick" }, c.number));
  });
  box.replaceChildren(...parts);
}

// ---------- prompts and tasks ----------

async function loadPrompts() {
  const prompts = await api("/v1/operator/prompts?status=pending");
  $("prompts-hint").textContent = prompts.items.length === 0 ? "No prompt is waiting." : "";
  const open = document.activeElement && $("prompts").contains(document.activeElement);
  if (open) return; // never redraw under the operator's cursor
  $("prompts").replaceChildren(...prompts.items.map(promptBox));
}

function promptBox(p) {
  const box = el("div", null, "prompt");
  box.dataset.promptId = p.id;
  // The inbox is ordered by the attention each prompt paid (ADR 0135); showing it says why one stands above another.
  const q = el("div", `${p.agentId} (cycle ${p.cycle}, ${p.attention} bp attention): ${p.question}`);
  const form = document.createElement("form");
  const answer = document.createElement("textarea");
  answer.name = "answer";
  answer.placeholder = "answer";
  const reward = document.createElement("input");
  reward.type = "number"; reward.min = "0"; reward.value = "0"; reward.name = "reward"; reward.title = "reward in credits";
  const send = el("button", "Answer");
  send.type = "submit";
  form.append(answer, reward, send);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    try {
      await api(`/v1/operator/prompts/${encodeURIComponent(p.id)}/answer`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": `dashboard-${p.id}` },
        body: JSON.stringify({ answer: answer.value, reward: Number(reward.value) }),
      });
      box.remove();
      setStatus(`answered ${p.id}`);
    } catch (e) {
      send.disabled = false;
      setStatus(e.message, true);
    }
  });
  box.append(q, form);
  return box;
}

/** One line for an event, whatever its type: the type, its agent and cycle, and its fields. */
function eventLine(e) {
  const li = el("li");
  li.dataset.type = e.type;
  li.dataset.seq = e.seq;
  const fields = Object.entries(e.data || {}).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  li.append(el("span", `#${e.seq}`, "muted"), el("b", ` ${e.type} `), el("span", [e.agentId, e.cycle !== undefined ? `cycle ${e.cycle}` : null].filter(Boolean).join(" · ") + " "), el("span", fields, "fields"));
  return li;
}

function prepend(list, item, max) {
  list.prepend(item);
  while (list.children.length > max) list.lastElementChild.remove();
}

// ---------- the agent page ----------

async function showAgent(id) {
  state.openAgent = id;
  const d = await api(`/v1/operator/agents/${encodeURIComponent(id)}`);
  if (state.openAgent !== id) return;
  const a = d.agent;
  $("agent-page").hidden = false;
  $("agent-page").dataset.agentId = id;
  $("agent-title").textContent = `${a.name} (${a.id})`;
  $("agent-summary").textContent = `${a.status}, generation ${a.generation}` + (a.parentId ? `, child of ${a.parentId}` : ", a root") +
    (d.children.length ? `, parent of ${d.children.join(", ")}` : "") +
    ` · posted ${a.posted}, reserved ${a.reserved}, available ${a.available} credits`;
  const bundle = (b) => `${b.cpuMillicores}m cpu, ${b.memoryMiB} MiB, ${b.tokens} tokens, ${b.attentionBasisPoints} bp`;
  fillTable("agent-bids", d.bids.map((b) => [cell(b.cycle, true), cell(b.id), cell(bundle(b.bundle)), cell(b.amount, true), cell(b.status), cell(b.payment, true)]));
  fillTable("agent-transfers", d.transfers.map((t) => [cell(t.sequence, true), cell(t.kind), cell(t.state), cell(t.debitAccountId), cell(t.creditAccountId), cell(t.amount, true), cell(t.cycle, true)]));
  $("agent-executions").replaceChildren(...(d.executions.length ? d.executions.map((x) => {
    const e = x.execution;
    const box = el("div", null, "execution");
    box.dataset.executionId = e.id;
    box.append(el("div", `cycle ${e.cycle} · ${e.id} · ${e.status}` + (e.exitCode !== null ? ` (exit ${e.exitCode})` : "") + ` · ${bundle(e.granted)} · ${e.tokensUsed} tokens used`));
    const pre = el("pre", null, "output");
    pre.textContent = x.output.map((o) => (o.stream === "stderr" ? "! " : "") + o.line).join("\n");
    box.append(pre);
    return box;
  }) : [el("p", "No execution yet.", "muted")]));
  fillTable("agent-history", d.history ? d.history.items.map((c) => [cell(c.commit.slice(0, 10)), cell(c.cycle, true), cell(c.status), cell(c.files, true),
    cell(`+${c.diff.added} ~${c.diff.modified} -${c.diff.deleted}`)]) : []);
  $("agent-llm").textContent = `${d.llm.calls} calls · ${d.llm.promptTokens} prompt + ${d.llm.completionTokens} completion tokens · ${d.llm.chargedTokens} charged`;
  fillTable("agent-llm-calls", d.llm.recent.map((c) => [cell(c.model), cell(c.cycle, true), cell(c.outcome), cell(c.promptTokens, true), cell(c.completionTokens, true), cell(c.chargedTokens, true)]));
}

function routeFromHash() {
  const m = /^#agent=(.+)$/.exec(location.hash);
  if (m && token) showAgent(decodeURIComponent(m[1])).catch((e) => setStatus(e.message, true));
  else { state.openAgent = null; $("agent-page").hidden = true; }
}

// ---------- the stream ----------

// Changes arrive in bursts (a cycle settles hundreds of bids): each agent is fetched once per burst.
const pending = { agents: new Set(), market: false, cycles: false, prompts: false, page: false, timer: null };

function later(kind, id) {
  if (kind === "agent") { if (id) pending.agents.add(id); } else pending[kind] = true;
  if (!pending.timer) pending.timer = setTimeout(flush, 0);
}

async function flush() {
  pending.timer = null;
  const ids = [...pending.agents];
  const { market, cycles, prompts, page } = pending;
  pending.agents.clear();
  pending.market = pending.cycles = pending.prompts = pending.page = false;
  try {
    if (ids.length > 50) await loadAgents().then(renderAgents);
    else await Promise.all(ids.map(refreshAgent));
    if (market) await loadMarket();
    if (cycles) await loadCycles();
    if (prompts) await loadPrompts();
    if (page && state.openAgent) await showAgent(state.openAgent);
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function refreshAgent(id) {
  const a = state.agents.get(id);
  if (!a) return;
  const b = await api(`/v1/economy/balance?agentId=${encodeURIComponent(id)}`);
  Object.assign(a, { posted: b.posted, reserved: b.reserved, available: b.available });
  updateAgentRow(a);
}

function apply(e) {
  if (e.seq <= state.seq) return;
  state.seq = e.seq;
  $("seq").textContent = `last #${e.seq}`;
  prepend($("feed"), eventLine(e), maxFeed);
  const d = e.data || {};
  const type = e.type;
  if (type === "agent.spawned" && d.agentId && !state.agents.has(d.agentId)) {
    const parent = state.agents.get(d.parentId || e.agentId);
    state.agents.set(d.agentId, {
      id: d.agentId, name: d.name || d.agentId, parentId: d.parentId || e.agentId, rootId: parent ? parent.rootId : d.agentId,
      generation: d.generation ?? (parent ? parent.generation + 1 : 0), createdCycle: e.cycle ?? 0, status: "Active",
      posted: d.endowment ?? 0, reserved: 0, available: d.endowment ?? 0,
    });
    updateAgentRow(state.agents.get(d.agentId));
    drawLineage();
    later("agent", d.agentId);
  }
  if (type === "agent.retired" && state.agents.has(e.agentId)) {
    state.agents.get(e.agentId).status = "Retired";
    updateAgentRow(state.agents.get(e.agentId));
    drawLineage();
  }
  if (type.startsWith("cycle.")) {
    const c = state.cycles.get(e.cycle) || { number: e.cycle, mechanism: d.mechanism };
    c.status = { "cycle.started": "Clearing", "cycle.settled": "Settled", "cycle.completed": "Completed" }[type];
    if (d.bids !== undefined) c.bidCount = d.bids;
    if (d.winners !== undefined) c.winnerCount = d.winners;
    if (d.revenue !== undefined) c.revenue = d.revenue;
    state.cycles.set(e.cycle, c);
    renderCycles();
    if (type !== "cycle.started") { later("cycles"); later("market"); }
  }
  if (type.startsWith("prompt.")) later("prompts");
  if (type.startsWith("task.")) {
    $("tasks-hint").textContent = "";
    prepend($("tasks"), eventLine(e), maxFeed);
  }
  // Anything about an agent may have moved its credits: its balance is read again.
  if (e.agentId && type !== "execution.output") later("agent", e.agentId);
  if (type === "agent.spawned" && d.agentId) later("agent", d.agentId);
  if (e.agentId && e.agentId === state.openAgent) {
    if (type === "execution.output") {
      const pre = $("agent-executions").querySelector(`[data-execution-id="${CSS.escape(d.executionId)}"] pre`);
      if (pre) {
        // An agent may print without end: the page keeps its last lines only.
        const lines = (pre.textContent ? pre.textContent.split("\n") : []).concat((d.stream === "stderr" ? "! " : "") + d.line);
        pre.textContent = lines.slice(-maxOutputLines).join("\n");
      }
      else later("page");
    } else later("page");
  }
}

function openStream() {
  if (state.stream) state.stream.close();
  const stream = new EventSource(`/v1/events?after=${state.seq}`);
  state.stream = stream;
  const indicator = $("stream");
  stream.onopen = () => { indicator.textContent = "stream: live"; indicator.dataset.state = "open"; };
  const onEvent = (message) => { try { apply(JSON.parse(message.data)); } catch (err) { setStatus(err.message, true); } };
  for (const t of eventTypes) stream.addEventListener(t, onEvent);
  stream.onerror = async () => {
    indicator.dataset.state = "closed";
    indicator.textContent = "stream: reconnecting…";
    // EventSource retries by itself (with Last-Event-ID) unless the server refused it: then the session has ended.
    if (stream.readyState === EventSource.CLOSED && state.stream === stream) {
      try { await api("/v1/operator/session", { method: "POST" }); openStream(); }
      catch (e) { setStatus(e.message, true); indicator.textContent = "stream: off"; }
    }
  };
}

// ---------- start ----------

async function start() {
  try {
    await loadMarket();
    if (!token) { setStatus("public market data only"); return; }
    await api("/v1/operator/session", { method: "POST" });
    const seq = await loadAgents();
    state.seq = Math.max(state.seq, seq);
    renderAgents();
    await Promise.all([loadCycles(), loadPrompts()]);
    openStream();
    routeFromHash();
    setStatus(`snapshot at #${seq}`);
  } catch (e) {
    setStatus(e.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = token;
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("cyagents.operatorToken", token);
    start();
  });
  $("agent-close").addEventListener("click", () => { location.hash = ""; });
  window.addEventListener("hashchange", routeFromHash);
  start();
});
