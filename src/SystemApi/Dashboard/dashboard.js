// The CyAgents dashboard: polls the public API every two seconds. The operator token lives only in this
// tab's sessionStorage and is sent as a bearer token to the same origin.
"use strict";

const colors = { cpu: "#2563eb", memory: "#16a34a", tokens: "#d97706", attention: "#9333ea" };
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("cyagents.operatorToken") || "";

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

function cell(text, numeric) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (numeric) td.className = "num";
  return td;
}

function fillTable(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

async function refreshMarket() {
  const market = await api("/v1/market/prices");
  $("next-cycle").textContent = `next cycle ${market.nextCycle}`;
  fillTable("market", market.resources.map((r) => [
    cell(`${r.kind} (${r.unit})`),
    cell(r.price.toPrecision(4), true),
    cell(r.supply, true),
    cell((r.utilization * 100).toFixed(1) + " %", true),
  ]));
}

// Each kind's price relative to its first point, so four very different units share one axis.
async function refreshHistory() {
  const history = await api("/v1/market/history?cycles=50");
  const svg = $("history");
  const byKind = {};
  for (const e of history.entries) (byKind[e.kind] = byKind[e.kind] || []).push(e);
  const series = Object.entries(byKind).map(([kind, es]) => {
    const base = es[0].price || 1;
    return { kind, points: es.map((e) => [e.cycle, e.price / base]) };
  });
  const all = series.flatMap((s) => s.points);
  svg.replaceChildren();
  if (all.length === 0) { $("history-legend").textContent = "no settled cycle yet"; return; }
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const sx = (x) => 10 + (x1 === x0 ? 290 : (x - x0) / (x1 - x0) * 580);
  const sy = (y) => 150 - (y1 === y0 ? 70 : (y - y0) / (y1 - y0) * 140);
  for (const s of series) {
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", colors[s.kind] || "#555");
    line.setAttribute("stroke-width", "2");
    line.dataset.kind = s.kind;
    svg.append(line);
  }
  $("history-legend").replaceChildren(...series.map((s) => {
    const span = document.createElement("span");
    span.style.color = colors[s.kind] || "#555";
    span.textContent = `■ ${s.kind} ×${s.points[s.points.length - 1][1].toFixed(2)}`;
    return span;
  }));
}

async function refreshCycles() {
  if (!token) return;
  const cycles = await api("/v1/cycles?take=20");
  fillTable("cycles", cycles.items.map((c) => [
    cell(c.number, true), cell(c.status), cell(c.mechanism), cell(c.bidCount, true), cell(c.winnerCount, true),
    cell(c.welfare, true), cell(c.revenue, true), cell(c.invariantHeld === null ? "–" : c.invariantHeld ? "held" : "BROKEN"),
  ]));
  const executions = await api("/v1/executions?take=30");
  fillTable("executions", executions.items.map((e) => [
    cell(e.cycle, true), cell(e.agentId), cell(e.status), cell(e.exitCode, true),
    cell(e.granted.cpuMillicores, true), cell(e.granted.memoryMiB, true), cell(e.tokensUsed, true),
  ]));
}

async function refreshPrompts() {
  if (!token) return;
  const prompts = await api("/v1/operator/prompts?status=pending");
  $("prompts-hint").textContent = prompts.items.length === 0 ? "No prompt is waiting." : "";
  const open = document.activeElement && $("prompts").contains(document.activeElement);
  if (open) return; // never redraw under the operator's cursor
  $("prompts").replaceChildren(...prompts.items.map((p) => {
    const box = document.createElement("div");
    box.className = "prompt";
    box.dataset.promptId = p.id;
    const q = document.createElement("div");
    q.textContent = `${p.agentId} (cycle ${p.cycle}): ${p.question}`;
    const form = document.createElement("form");
    const answer = document.createElement("textarea");
    answer.name = "answer";
    answer.placeholder = "answer";
    const reward = document.createElement("input");
    reward.type = "number"; reward.min = "0"; reward.value = "0"; reward.name = "reward"; reward.title = "reward in credits";
    const send = document.createElement("button");
    send.type = "submit"; send.textContent = "Answer";
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
  }));
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "muted";
}

async function refresh() {
  try {
    await Promise.all([refreshMarket(), refreshHistory(), refreshCycles(), refreshPrompts()]);
    setStatus(`updated ${new Date().toLocaleTimeString()}`);
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
    refresh();
  });
  refresh();
  setInterval(refresh, 2000);
});
