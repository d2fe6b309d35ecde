// mergeyard dashboard: polls the open JSON routes of the admin API every 2 s
// and renders queues (waiting entries, the speculative stack, bisection trees,
// history), executors and executions (pipeline steps and REAPI actions, with
// the REAPI and content store counters). An admin token, if typed in, is kept in
// this tab's sessionStorage and sent only to this origin's admin routes
// (pause, resume, cancel) and to log downloads.
"use strict";

(function () {
  const POLL_MS = 2000;
  const TOKEN_KEY = "mergeyard.adminToken";
  let renders = 0;

  // ---- errors are shown, and recorded for the browser test ------------------
  function noteError(message) {
    document.documentElement.dataset.jsError = message;
    const banner = document.getElementById("error-banner");
    if (banner) {
      banner.textContent = message;
      banner.hidden = false;
    }
  }
  window.addEventListener("error", (ev) => noteError("script error: " + ev.message));
  window.addEventListener("unhandledrejection", (ev) => noteError("script error: " + String(ev.reason)));

  // ---- small DOM helpers: text only, never HTML from data ---------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (key.startsWith("data")) {  // dataBatchId -> data-batch-id; booleans as "true"/"false"
        node.setAttribute(key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), String(value));
      } else if (value === false) {
        continue;
      } else if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const badge = (text, cls) => el("span", { class: "badge " + (cls || text), text });
  const short = (sha) => (sha ? sha.slice(0, 10) : "—");
  const prList = (prs) => (prs && prs.length ? prs.map((p) => "#" + p).join(" ") : "—");

  function when(ms) {
    if (!ms) return el("span", { text: "—" });
    const d = new Date(ms);
    return el("time", { datetime: d.toISOString(), title: d.toLocaleString(), text: ago(ms) });
  }
  function ago(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m ago";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m ago";
    return Math.floor(s / 86400) + "d ago";
  }
  function duration(ms) {
    if (!ms && ms !== 0) return "—";
    if (ms < 1000) return ms + " ms";
    const s = Math.round(ms / 1000);
    return s < 120 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";
  }
  function bytes(n) {
    if (!n) return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (Math.round(n * 10) / 10) + " " + units[i];
  }
  function table(headers, rows, testid) {
    if (!rows.length) return null;
    return el("table", { dataTestid: testid },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows));
  }
  const repoPath = (repo) => repo.split("/").map(encodeURIComponent).join("/");

  // ---- the admin token -----------------------------------------------------------
  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  function renderTokenForm() {
    document.getElementById("token-forget").hidden = !token();
    document.getElementById("token-input").placeholder = token() ? "token set for this tab" : "admin token";
  }
  async function admin(method, path) {
    const res = await fetch(path, { method, headers: { Authorization: "Bearer " + token() } });
    if (!res.ok) {
      let message = res.status + " " + res.statusText;
      try { message = (await res.json()).error.message; } catch (e) { /* not JSON */ }
      noteError(method + " " + path + ": " + message);
      return;
    }
    poll(true);
  }
  async function showLog(url, title) {
    const dialog = document.getElementById("log-dialog");
    document.getElementById("log-title").textContent = title;
    const pre = document.getElementById("log-text");
    pre.textContent = "loading…";
    if (typeof dialog.showModal === "function") dialog.showModal();
    const res = await fetch(url, { headers: { Authorization: "Bearer " + token() } });
    pre.textContent = res.ok ? await res.text() : "HTTP " + res.status + ": " + (await res.text());
  }
  function logLink(url, title) {
    if (!url) return null;
    return el("a", {
      href: url, class: "log", target: "_blank", rel: "noopener", text: "log",
      onclick: (ev) => {
        let same = false;
        try { same = new URL(url, location.href).origin === location.origin; } catch (e) { same = false; }
        if (!token() || !same) return;  // plain link: the server asks for the token
        ev.preventDefault();
        showLog(url, title).catch((e) => noteError("log: " + e));
      },
    });
  }

  // ---- queues --------------------------------------------------------------------
  function apartTitle(e) {
    const apart = e.kept_apart_from || [];
    return apart.length ? "never batched with " + apart.map((p) => "#" + p).join(", ") +
      ": a batch holding both failed while each half passed" : "";
  }

  function renderWaiting(q) {
    const waiting = q.entries.filter((e) => e.status === "waiting");
    const rows = waiting.map((e) => el("tr", { dataTestid: "waiting-entry", dataPr: e.pr },
      el("td", { text: e.position }),
      el("td", { class: "prs", text: "#" + e.pr, title: apartTitle(e) },
        (e.kept_apart_from || []).length ? el("span", { class: "apart", text: " ≠ " + e.kept_apart_from.map((p) => "#" + p).join(" ") }) : ""),
      el("td", { text: e.priority }),
      el("td", {}, when(e.enqueued_at)),
      el("td", { class: "mono", text: short(e.head_sha) }),
      el("td", {}, el("button", {
        class: "danger", disabled: !token(), title: token() ? "cancel this entry" : "needs the admin token",
        text: "cancel", onclick: () => admin("DELETE", "/api/v1/repos/" + repoPath(q.repo) + "/entries/" + e.pr + "?branch=" + encodeURIComponent(q.branch)),
      }))));
    return [el("h4", { text: "Waiting (" + waiting.length + ")" }),
      table(["#", "PR", "priority", "enqueued", "head", ""], rows, "waiting") || el("p", { class: "empty", text: "Nothing waiting." })];
  }

  function renderStack(q) {
    const byId = new Map(q.batches.map((b) => [b.id, b]));
    const items = [el("li", { class: "tip" }, "target ", el("code", { text: q.branch }), " at ", el("code", { text: short(q.tip) }))];
    for (const id of q.main) {
      const b = byId.get(id);
      if (!b) continue;
      items.push(el("li", { dataTestid: "batch", dataBatchId: b.id, dataState: b.state, dataKind: "main" },
        el("strong", { text: "#" + b.id }),
        el("span", { class: "prs", text: prList(b.prs) }),
        badge(b.state),
        b.failed_step ? el("span", { text: "step " + b.failed_step }) : null,
        logLink(b.log_url, "batch #" + b.id),
        renderChecks(b),
        el("span", { class: "on", title: "tests " + prList(b.holds) },
          b.parent ? "on #" + b.parent : "on the tip", b.commit ? " → " : "", b.commit ? el("code", { text: short(b.commit) }) : null)));
    }
    return [el("h4", { text: "Main queue — speculative stack (" + q.main.length + ")" }),
      el("ol", { class: "stack", dataTestid: "main-stack" }, items.reverse())];
  }

  // The required external checks of a batch gated on the forge's CI, each
  // with its state and a link to its own page; "cached" when the verdict
  // cache answered for a tree that passed before.
  function renderChecks(b) {
    if (!b.checks) return null;
    const items = b.checks.map((c) => el("span", { class: "check check-" + c.state, dataTestid: "check", dataCheck: c.name, dataState: c.state, title: c.source ? "from " + c.source : "no verdict yet" },
      c.url ? el("a", { href: c.url, target: "_blank", rel: "noopener", text: c.name }) : c.name,
      " " + c.state));
    return el("span", { class: "checks" }, b.checks_cached ? el("span", { class: "cached", text: "cached verdict" }) : null, ...items);
  }

  function renderNode(n) {
    const result = n.result || n.state;
    return el("li", {},
      el("span", { class: "node", dataTestid: "bisect-node", dataBatchId: n.id, dataResult: result },
        el("strong", { text: "#" + n.id }),
        el("span", { class: "prs", text: prList(n.prs) }),
        badge(result),
        n.culprit ? badge("kicked") : null,
        n.failed_step ? el("span", { text: "step " + n.failed_step }) : null,
        logLink(n.log_url, "batch #" + n.id)),
      n.children && n.children.length ? el("ul", {}, n.children.map(renderNode)) : null);
  }

  function renderBisections(q) {
    if (!q.bisections.length) return [];
    return [el("h4", { text: "Bisections" }),
      q.bisections.map((t) => el("div", { dataTestid: "bisection", dataRoot: t.root, dataActive: t.active },
        el("ul", { class: "tree" }, renderNode(t.tree))))];
  }

  function historyEvent(h) {
    if (h.kind === "batch") return [badge("batch " + h.result, h.result), " ", h.batch_kind === "bisect" ? "bisection half" : "batch"];
    return [badge(h.kind)];
  }
  function renderHistory(q) {
    const rows = q.history.map((h) => el("tr", { dataTestid: "history-row", dataKind: h.kind, dataPr: h.pr, dataBatch: h.batch },
      el("td", {}, when(h.at)),
      el("td", {}, historyEvent(h)),
      el("td", { class: "prs", text: h.kind === "batch" ? prList(h.prs) : "#" + h.pr }),
      el("td", { text: h.batch ? "#" + h.batch : "" }),
      el("td", { text: h.kind === "batch" ? (h.failed_step ? "failed step " + h.failed_step : "") : h.message }),
      el("td", {}, logLink(h.log_url, "batch #" + h.batch))));
    return [el("h4", { text: "Recent history" }),
      table(["when", "event", "PRs", "batch", "detail", ""], rows, "history") || el("p", { class: "empty", text: "No history yet." })];
  }

  function renderQueue(q) {
    const c = q.counts;
    const path = "/api/v1/repos/" + repoPath(q.repo) + "/queue/";
    const branch = "?branch=" + encodeURIComponent(q.branch);
    return el("article", { class: "queue", dataTestid: "queue", dataRepo: q.repo, dataBranch: q.branch, dataPaused: q.paused },
      el("div", { class: "queue-head" },
        el("h3", {}, q.repo, " → ", el("code", { text: q.branch })),
        q.paused ? badge("paused") : badge("running", "pass"),
        el("span", { class: "actions" },
          el("button", { disabled: !token() || q.paused, text: "pause", title: token() ? "" : "needs the admin token",
                         onclick: () => admin("POST", path + "pause" + branch) }),
          el("button", { disabled: !token() || !q.paused, text: "resume", title: token() ? "" : "needs the admin token",
                         onclick: () => admin("POST", path + "resume" + branch) }))),
      el("div", { class: "queue-meta" },
        c.waiting + " waiting · " + c.in_batch + " in batches · " + c.bisecting + " bisecting · " +
        c.testing + " testing · batch size " + q.config.target_batch_size + " · concurrency " + q.config.concurrency),
      el("div", { class: "grid" },
        el("div", {}, renderWaiting(q), renderBisections(q)),
        el("div", {}, renderStack(q))),
      renderHistory(q));
  }

  // ---- execution backend ------------------------------------------------------------
  function renderCounters(counters, executors) {
    const box = document.getElementById("counters");
    if (!counters) {
      box.replaceChildren(el("p", { class: "empty", text: "No execution backend on this server." }));
      return;
    }
    const items = [
      ["cache hits", counters.cache_hits, "cache-hits"],
      ["merged executions", counters.merged, "merged"],
      ["hedges", counters.hedges, "hedges"],
      ["running", counters.running, "running"],
      ["queued", counters.queue_length, "queued"],
      ["completed", counters.completed, "completed"],
      ["executors", executors.length, "executors"],
    ];
    box.replaceChildren(...items.map(([label, value, id]) =>
      el("div", { class: "counter", dataTestid: "counter-" + id },
        el("div", { class: "value", text: value }), el("div", { class: "label", text: label }))));
  }

  // The executions panel's own counters: REAPI calls (when the server runs a
  // REAPI server) and the content store's bytes in and out. Each carries its
  // raw number in data-value.
  function renderReapiCounters(counters) {
    const box = document.getElementById("reapi-counters");
    if (!counters) {
      box.replaceChildren();
      return;
    }
    const r = counters.reapi;
    const cas = counters.cas || {};
    const casBytes = (n) => (n ? bytes(n) : "0 B");
    const items = r ? [
      ["REAPI executes", r.executes, r.executes, "reapi-executes"],
      ["REAPI cache hits", r.cache_hits, r.cache_hits, "reapi-cache-hits"],
      ["REAPI merged", r.merged, r.merged, "reapi-merged"],
      ["REAPI hedged", r.hedged, r.hedged, "reapi-hedged"],
    ] : [];
    items.push(
      ["CAS bytes in", casBytes(cas.bytes_written), cas.bytes_written, "cas-bytes-in"],
      ["CAS bytes out", casBytes(cas.bytes_read), cas.bytes_read, "cas-bytes-out"],
      ["CAS stored", casBytes(cas.bytes) + (cas.max_bytes ? " of " + bytes(cas.max_bytes) : ""), cas.bytes, "cas-stored"]);
    const nodes = items.map(([label, text, value, id]) =>
      el("div", { class: "counter", dataTestid: "counter-" + id, dataValue: value },
        el("div", { class: "value", text }), el("div", { class: "label", text: label })));
    if (!r) nodes.push(el("p", { class: "empty", dataTestid: "no-reapi", text: "No REAPI server (MERGEYARD_REAPI_LISTEN is unset)." }));
    box.replaceChildren(...nodes);
  }

  function resources(r) {
    const parts = ["cpu " + r.cpu];
    if (r.memory_bytes) parts.push(bytes(r.memory_bytes));
    for (const [k, v] of Object.entries(r)) if (k !== "cpu" && k !== "memory_bytes") parts.push(k + " " + v);
    return parts.join(", ");
  }
  function renderExecutors(list) {
    const rows = list.map((x) => el("tr", { dataTestid: "executor", dataId: x.id },
      el("td", { class: "mono", text: x.id }),
      el("td", { text: resources(x.used) + " of " + resources(x.capacity) }),
      el("td", { text: x.running }),
      el("td", { class: "mono", text: x.executions.join(" ") }),
      el("td", { text: Object.entries(x.labels).map(([k, v]) => k + "=" + v).join(" ") }),
      el("td", {}, when(x.last_seen_ms))));
    document.getElementById("executors").replaceChildren(
      table(["executor", "load (used of capacity)", "running", "executions", "labels", "seen"], rows, "executors") ||
      el("p", { class: "empty", text: "No executor registered." }));
  }
  function renderExecutions(list) {
    const rows = list.map((x) => {
      const r = x.result;
      const how = r && r.cached ? badge("cached") : x.merged_submissions > 0 ? badge("merged ×" + (x.merged_submissions + 1), "cached") : null;
      const reapi = x.kind === "reapi";
      return el("tr", { dataTestid: "execution", dataId: x.execution_id, dataState: x.state, dataKind: x.kind },
        el("td", { class: "mono", text: x.execution_id }),
        el("td", {}, reapi ? badge("REAPI", "reapi") : badge("step")),
        el("td", { text: x.name || "—", title: reapi ? "action mnemonic" : "step" }),
        el("td", { text: x.group || "—", title: reapi ? "invocation id" : "group" }),
        el("td", {}, badge(r && !r.passed ? "failed" : x.state), " ", how, x.hedge ? badge("hedge") : null),
        el("td", { text: x.waiters }),
        el("td", { class: "mono", text: x.executor || "—" }),
        el("td", { text: r ? duration(r.duration_ms) : "—" }),
        el("td", {}, when(x.queued_at_ms)),
        el("td", {}, logLink(x.log_url, "execution " + x.execution_id)));
    });
    document.getElementById("executions").replaceChildren(
      table(["execution", "kind", "name", "group", "state", "waiters", "executor", "took", "queued", ""], rows, "executions") ||
      el("p", { class: "empty", text: "No executions yet." }));
  }

  // ---- polling ------------------------------------------------------------------------
  async function getJson(path) {
    const res = await fetch(path, { cache: "no-store" });
    if (!res.ok) throw new Error(path + ": HTTP " + res.status);
    return res.json();
  }

  let timer = null;
  let inFlight = false;
  async function poll(now) {
    if (inFlight && !now) return;
    clearTimeout(timer);
    inFlight = true;
    const status = document.getElementById("status");
    try {
      const [queues, executions, executors] = await Promise.all([
        getJson("/api/v1/queues"), getJson("/api/v1/executions?limit=25"), getJson("/api/v1/executors")]);
      const repos = [...new Set(queues.queues.map((q) => q.repo))];
      const details = await Promise.all(repos.map((r) => getJson("/api/v1/repos/" + repoPath(r) + "/queue?history=25")));
      const box = document.getElementById("queues");
      const cards = details.flatMap((d) => d.queues).map(renderQueue);
      box.replaceChildren(...(cards.length ? cards : [el("p", { class: "empty", text: "No queue yet: comment !integrate on a pull request." })]));
      renderCounters(executions.counters, executors.executors);
      renderExecutors(executors.executors);
      renderExecutions(executions.executions);
      renderReapiCounters(executions.counters);
      renders++;
      document.body.dataset.renders = String(renders);
      document.body.dataset.loaded = "true";
      status.textContent = "updated " + new Date().toLocaleTimeString();
      status.classList.remove("stale");
    } catch (e) {
      status.textContent = "cannot reach the server (" + e.message + "); retrying";
      status.classList.add("stale");
    } finally {
      inFlight = false;
      timer = setTimeout(poll, POLL_MS);
    }
  }

  function start() {
    document.getElementById("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = document.getElementById("token-input");
      if (input.value) sessionStorage.setItem(TOKEN_KEY, input.value);
      input.value = "";
      renderTokenForm();
      poll(true);
    });
    document.getElementById("token-forget").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      renderTokenForm();
      poll(true);
    });
    document.getElementById("log-close").addEventListener("click", () => document.getElementById("log-dialog").close());
    renderTokenForm();
    poll(true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
