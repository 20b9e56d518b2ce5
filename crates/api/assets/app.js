// The hookmq dashboard: one ES module, no build step. Every page reads and acts through the same
// management API as `hookmq ctl`, with the API token in the Authorization header (kept in
// sessionStorage, never in a cookie). Everything the broker sends back is inserted as text
// nodes (see h() below), never parsed as HTML: client ids, topics and payloads are attacker-chosen.

const main = document.getElementById("main");
const TOKEN_KEY = "hookmq.token";
let pageTimer = null;
let pageAbort = null;

/** Creates an element; strings and numbers become text nodes, never markup. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    // Through the CSSOM: the Content-Security-Policy forbids style attributes.
    else if (k === "style") el.style.cssText = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function show(...children) {
  main.replaceChildren();
  append(main, children);
}

function toast(text, bad = false) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.className = bad ? "show bad" : "show";
  clearTimeout(t.timer);
  t.timer = setTimeout(() => (t.className = ""), 4000);
}

class Unauthorized extends Error {}

/** Calls the API; a 401 sends the user to the login form. */
async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: pageAbort?.signal,
  });
  if (resp.status === 401) {
    login("The API needs a token.");
    throw new Unauthorized();
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!resp.ok) throw new Error((data && data.error) || `${resp.status} ${text}`);
  return data;
}

/** Runs an action and reports its outcome. */
async function act(what, fn) {
  try {
    await fn();
    toast(what);
    route();
  } catch (e) {
    if (!(e instanceof Unauthorized)) toast(`${what} failed: ${e.message}`, true);
  }
}

const enc = (s) => encodeURIComponent(s);
const topicPath = (t) => t.split("/").map(enc).join("/");
const fmt = (v) => (v === null || v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));

function table(cols, rows, rowAttrs = () => ({})) {
  return h("table", {},
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", rowAttrs(r), r.cells.map((c) =>
      c instanceof Node ? h("td", {}, c) : h("td", { class: "mono" }, fmt(c)))))));
}

function kv(obj) {
  return table(["key", "value"], Object.entries(obj).map(([k, v]) => ({ cells: [k, v] })));
}

// ---- login ----

function login(message) {
  document.getElementById("nav").hidden = true;
  const input = h("input", { id: "token", type: "password", placeholder: "API token", autocomplete: "off" });
  show(h("form", {
    class: "login", id: "login-form", onsubmit: async (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value);
      location.hash = "#/overview";
      route();
    },
  }, h("h2", {}, "Log in"), h("p", { class: "muted" }, message), input, h("button", { type: "submit", id: "login" }, "Log in")));
}

// ---- overview ----

const series = { t: [], connections: [], sessions: [], in: [], out: [], dropped: [] };
let last = null;

function chart(title, lines) {
  const W = 400, H = 140, n = 60;
  const max = Math.max(1, ...lines.flatMap((l) => l.data));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  for (const l of lines) {
    const p = document.createElementNS(svg.namespaceURI, "polyline");
    const pts = l.data.slice(-n).map((v, i, a) => `${(W * (i + n - a.length)) / (n - 1)},${H - 4 - ((H - 8) * v) / max}`);
    p.setAttribute("points", pts.join(" "));
    p.setAttribute("fill", "none");
    p.setAttribute("stroke", l.color);
    p.setAttribute("stroke-width", "2");
    svg.append(p);
  }
  return h("div", { class: "chart" }, h("strong", {}, title), " ", h("span", { class: "muted" }, `max ${max}`),
    svg, h("div", { class: "legend" }, lines.map((l) => h("span", { style: `color:${l.color}` }, `■ ${l.name} ${l.data.at(-1) ?? 0}`))));
}

async function overview() {
  const s = await api("GET", "/api/v1/status");
  const now = Date.now();
  if (last) {
    const dt = Math.max(0.001, (now - last.at) / 1000);
    const push = (k, v) => { series[k].push(v); if (series[k].length > 60) series[k].shift(); };
    push("connections", s.connections);
    push("sessions", s.sessions);
    push("in", Math.round((s.messages_received - last.s.messages_received) / dt));
    push("out", Math.round((s.messages_sent - last.s.messages_sent) / dt));
    push("dropped", Math.round((s.messages_dropped - last.s.messages_dropped) / dt));
  }
  last = { at: now, s };
  const card = (label, value, id) => h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value", id }, fmt(value)));
  show(
    h("h2", {}, `Overview — ${s.node} ${s.version}`),
    h("div", { class: "cards" },
      card("uptime", `${s.uptime_secs} s`, "uptime"), card("connections", s.connections, "connections"),
      card("sessions", s.sessions, "sessions"), card("subscriptions", s.subscriptions),
      card("retained", s.retained), card("messages in", s.messages_received),
      card("messages out", s.messages_sent), card("dropped", s.messages_dropped)),
    h("div", { class: "charts" },
      chart("Connections and sessions", [
        { name: "connections", color: "#2457c5", data: series.connections },
        { name: "sessions", color: "#8a5cd1", data: series.sessions }]),
      chart("Messages per second", [
        { name: "in", color: "#1f7a3a", data: series.in },
        { name: "out", color: "#2457c5", data: series.out },
        { name: "dropped", color: "#b3261e", data: series.dropped }])),
    h("h3", {}, "Listeners"),
    table(["name", "address"], (s.listeners || []).map((l) => ({ cells: [l.name, l.addr] }))),
  );
}

// ---- clients ----

async function clients(params) {
  const like = params.get("like") || "";
  const list = (await api("GET", `/api/v1/clients${like ? `?like=${enc(like)}` : ""}`)).data;
  const search = h("input", { id: "client-search", placeholder: "client id contains…", value: like });
  const rows = list.map((c) => ({
    c, cells: [
      h("a", { href: `#/client?id=${enc(c.clientid)}`, class: "client-link" }, c.clientid),
      c.username, c.connected ? "yes" : "no", c.peerhost, c.proto_ver, c.subscriptions, c.queued, c.inflight,
      h("button", { class: "danger kick", onclick: () => kick(c.clientid) }, "Kick")],
  }));
  show(h("h2", {}, "Clients"),
    h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); location.hash = `#/clients?like=${enc(search.value)}`; } },
      search, h("button", { type: "submit" }, "Search")),
    table(["client id", "user name", "connected", "peer", "proto", "subs", "queued", "inflight", ""], rows,
      (r) => ({ "data-clientid": r.c.clientid })));
}

function kick(id) {
  return act(`kicked ${id}`, () => api("DELETE", `/api/v1/clients/${enc(id)}`));
}

async function client(params) {
  const id = params.get("id") || "";
  const c = await api("GET", `/api/v1/clients/${enc(id)}`);
  const subs = (await api("GET", `/api/v1/clients/${enc(id)}/subscriptions`)).data;
  show(h("h2", {}, "Client ", h("code", {}, id)),
    h("div", { class: "row" }, h("button", { class: "danger kick", onclick: () => kick(id) }, "Kick"),
      h("a", { href: "#/clients" }, "back to clients")),
    kv(c), h("h3", {}, "Subscriptions"),
    table(["topic", "qos", "nl", "rap", "rh"], subs.map((s) => ({ cells: [s.topic, s.qos, s.nl, s.rap, s.rh] }))));
}

// ---- subscriptions, retained ----

async function subscriptions() {
  const list = (await api("GET", "/api/v1/subscriptions")).data;
  show(h("h2", {}, "Subscriptions"),
    table(["client id", "topic", "qos", "no local", "retain as published", "retain handling", "id"],
      list.map((s) => ({ cells: [s.clientid, s.topic, s.qos, s.nl, s.rap, s.rh, s.subid] }))));
}

async function retained() {
  const list = (await api("GET", "/api/v1/retained")).data;
  show(h("h2", {}, "Retained messages"),
    table(["topic", "qos", "from", "payload", ""], list.map((m) => ({
      m, cells: [m.topic, m.qos, m.from, m.payload,
        h("button", { class: "danger delete-retained", onclick: () =>
          act(`deleted the retained message of ${m.topic}`, () => api("DELETE", `/api/v1/retained/${topicPath(m.topic)}`)) }, "Delete")],
    })), (r) => ({ "data-topic": r.m.topic })));
}

// ---- hooks ----

function histogram(buckets, bounds) {
  const max = Math.max(1, ...buckets);
  return h("div", { class: "hist", title: bounds.map((b, i) => `≤${b}µs: ${buckets[i]}`).join("\n") },
    buckets.map((v) => h("div", { style: `height:${Math.round((40 * v) / max)}px` })));
}

async function hooks() {
  const [handlers, plugins, drivers, servers] = await Promise.all([
    api("GET", "/api/v1/hooks"), api("GET", "/api/v1/plugins"),
    api("GET", "/api/v1/exhook/drivers"), api("GET", "/api/v1/exhook/servers")]);
  const post = (what, path) => act(what, () => api("POST", path));
  show(h("h2", {}, "Hooks"),
    h("h3", {}, "Plugins"),
    table(["name", "loaded", "state", "drivers", ""], plugins.data.map((p) => ({
      cells: [p.name, p.loaded, p.state, p.drivers, h("span", { class: "row" },
        h("button", { class: "plugin-load", onclick: () => post(`loaded ${p.name}`, `/api/v1/plugins/${enc(p.name)}/load`) }, "Load"),
        h("button", { class: "secondary plugin-unload", onclick: () => post(`unloaded ${p.name}`, `/api/v1/plugins/${enc(p.name)}/unload`) }, "Unload"),
        h("button", { class: "secondary plugin-reload", onclick: () => post(`reloaded ${p.name}`, `/api/v1/plugins/${enc(p.name)}/reload`) }, "Reload"))],
    }))),
    h("h3", {}, "Port drivers (Python, Java)"),
    table(["name", "kind", "enabled", "state", "workers", "error", ""], drivers.data.map((d) => ({
      cells: [d.name, d.kind, d.enabled, d.state, (d.workers || []).map((w) => `${w.state}`).join(", "), d.error,
        h("span", { class: "row" },
          h("button", { class: "secondary", onclick: () => post(`enabled ${d.name}`, `/api/v1/exhook/drivers/${enc(d.name)}/enable`) }, "Enable"),
          h("button", { class: "secondary", onclick: () => post(`disabled ${d.name}`, `/api/v1/exhook/drivers/${enc(d.name)}/disable`) }, "Disable"))],
    })), (r) => ({ "data-driver": r.cells[0] })),
    h("h3", {}, "gRPC exhook servers"),
    table(["name", "url", "enabled", "status", "registered", "last error", ""], servers.data.map((s) => ({
      cells: [s.name, s.url, s.enable, s.status, s.registered, s.last_error,
        h("span", { class: "row" },
          h("button", { class: "secondary", onclick: () => post(`enabled ${s.name}`, `/api/v1/exhook/servers/${enc(s.name)}/enable`) }, "Enable"),
          h("button", { class: "secondary", onclick: () => post(`disabled ${s.name}`, `/api/v1/exhook/servers/${enc(s.name)}/disable`) }, "Disable"),
          h("button", { class: "secondary", onclick: () => post(`reloaded ${s.name}`, `/api/v1/exhook/servers/${enc(s.name)}/reload`) }, "Reload"))],
    }))),
    h("h3", {}, "Handlers and hook points"),
    table(["handler", "driver", "hook", "calls", "failed", "timed out", "dropped", "avg µs", "latency"],
      handlers.data.flatMap((hd) => hd.metrics.map((m) => ({
        cells: [hd.name, hd.driver, m.hook, m.calls, m.failed, m.timed_out, m.dropped, m.latency_avg_us,
          histogram(m.latency_buckets || [], handlers.latency_bounds_us || [])],
      }))), (r) => ({ "data-handler": r.cells[0], "data-hook": r.cells[2] })));
}

// ---- trace ----

const POINTS = ["client.connect", "client.connack", "client.connected", "client.disconnected",
  "client.authenticate", "client.authorize", "client.subscribe", "client.unsubscribe",
  "session.created", "session.subscribed", "session.unsubscribed", "session.resumed",
  "session.discarded", "session.takenover", "session.terminated", "message.publish",
  "message.delivered", "message.acked", "message.dropped"];

function recordRow(r) {
  const time = new Date(r.ts).toISOString().slice(11, 23);
  if (r.type === "hook") {
    const a = r.answer || {};
    const said = a.error ? `error ${a.error}: ${a.message}` : `${a.verdict}${a.value ? " " + JSON.stringify(a.value) : ""}`;
    return h("tr", { class: "trace-hook", "data-point": r.point },
      h("td", {}, time), h("td", {}, r.clientid), h("td", {}, r.point), h("td", {}, r.handler),
      h("td", { class: "mono" }, JSON.stringify(r.event)), h("td", { class: "mono" }, said),
      h("td", {}, r.decision), h("td", {}, `${r.latency_us} µs`));
  }
  if (r.type === "packet") {
    return h("tr", { class: "trace-packet" }, h("td", {}, time), h("td", {}, r.clientid),
      h("td", {}, `${r.direction === "in" ? "←" : "→"} ${r.packet.type}`), h("td", {}, ""),
      h("td", { class: "mono" }, JSON.stringify(r.packet)), h("td", {}, ""), h("td", {}, ""), h("td", {}, ""));
  }
  return h("tr", { class: "trace-end" }, h("td", {}, time), h("td", { colspan: 7 }, `trace ended (${r.reason}), ${r.dropped} dropped by the rate limit`));
}

/** Reads a trace's event stream with fetch (so the token travels in a header) into `body`. */
async function follow(id, body, status) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(`/api/v1/traces/${id}/stream`, { headers, signal: pageAbort.signal });
  if (!resp.ok) throw new Error(`${resp.status}`);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "", event = "", lost = 0;
  status.textContent = `following trace ${id}`;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line === "") event = "";
      else if (line.startsWith("data:")) {
        const rec = JSON.parse(line.slice(5));
        if (event === "lost") { lost += rec.lost; status.textContent = `following trace ${id}; this view lost ${lost} records`; continue; }
        body.prepend(recordRow(rec));
        while (body.children.length > 500) body.lastChild.remove();
      }
    }
  }
  status.textContent = `trace ${id} ended`;
}

async function trace(params) {
  const traces = (await api("GET", "/api/v1/traces")).data;
  const f = {
    clientid: h("input", { id: "trace-client", placeholder: "client id" }),
    username: h("input", { id: "trace-username", placeholder: "user name" }),
    topic: h("input", { id: "trace-topic", placeholder: "topic filter" }),
    point: h("select", { id: "trace-point" }, h("option", { value: "" }, "all hook points"), POINTS.map((p) => h("option", { value: p }, p))),
    rate: h("input", { id: "trace-rate", type: "number", value: 100, min: 1, style: "width:80px" }),
    duration: h("input", { id: "trace-duration", value: "5m", style: "width:60px" }),
  };
  const body = h("tbody", { id: "trace-records" });
  const status = h("p", { class: "muted", id: "trace-status" }, "");
  const start = async (e) => {
    e.preventDefault();
    const req = { max_rate: Number(f.rate.value), duration: f.duration.value };
    for (const k of ["clientid", "username", "topic"]) if (f[k].value) req[k] = f[k].value;
    if (f.point.value) req.points = [f.point.value];
    try {
      const t = await api("POST", "/api/v1/traces", req);
      location.hash = `#/trace?follow=${t.id}`;
    } catch (err) { if (!(err instanceof Unauthorized)) toast(`trace not started: ${err.message}`, true); }
  };
  show(h("h2", {}, "Live hook trace"),
    h("form", { class: "row", id: "trace-form", onsubmit: start }, f.clientid, f.username, f.topic, f.point,
      "rate/s", f.rate, "for", f.duration, h("button", { type: "submit", id: "trace-start" }, "Start trace")),
    h("h3", {}, "Running traces"),
    table(["id", "selection", "rate", "left", "recorded", "dropped", ""], traces.map((t) => ({
      cells: [t.id, t.selection, `${t.max_rate}/s`, `${t.remaining_secs} s`, t.recorded, t.dropped, h("span", { class: "row" },
        h("a", { href: `#/trace?follow=${t.id}` }, "Follow"),
        h("button", { class: "danger trace-stop", onclick: () => act(`stopped trace ${t.id}`, () => api("DELETE", `/api/v1/traces/${t.id}`)) }, "Stop"))],
    }))),
    status,
    h("table", {}, h("thead", {}, h("tr", {}, ["time", "client", "what", "handler", "event / packet", "answer", "decision", "latency"].map((c) => h("th", {}, c)))), body));
  const id = params.get("follow");
  if (id) follow(id, body, status).catch((e) => { if (e.name !== "AbortError") status.textContent = `stream closed: ${e.message}`; });
}

// ---- log, configuration ----

async function log() {
  const cur = await api("GET", "/api/v1/log/level");
  const input = h("input", { id: "log-level", value: cur.level, style: "width:420px" });
  show(h("h2", {}, "Log level"),
    h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); act(`log level set to ${input.value}`, () => api("PUT", "/api/v1/log/level", { level: input.value })); } },
      input, h("button", { type: "submit" }, "Set")),
    h("p", { class: "muted" }, "A level (debug, info, warn) or a tracing filter such as info,hookmq_broker=debug."));
}

async function config() {
  const c = await api("GET", "/api/v1/config");
  show(h("h2", {}, "Effective configuration"), h("p", { class: "muted" }, "Defaults, the file and HOOKMQ_* variables merged; secrets masked."),
    h("pre", { id: "config" }, JSON.stringify(c, null, 2)));
}

// ---- routing ----

const PAGES = { overview, clients, client, subscriptions, retained, hooks, trace, log, config };

async function route() {
  clearInterval(pageTimer);
  pageAbort?.abort();
  pageAbort = new AbortController();
  const [path, query] = (location.hash.slice(2) || "overview").split("?");
  const page = PAGES[path] || overview;
  const params = new URLSearchParams(query || "");
  document.getElementById("nav").hidden = false;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${path}`);
  try {
    await page(params);
    main.dataset.page = path;
    if (page === overview) pageTimer = setInterval(() => overview().catch(() => {}), 1000);
  } catch (e) {
    if (!(e instanceof Unauthorized) && e.name !== "AbortError") show(h("p", { class: "bad" }, `Error: ${e.message}`));
  }
}

document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  login("Logged out.");
});
window.addEventListener("hashchange", route);
route();
