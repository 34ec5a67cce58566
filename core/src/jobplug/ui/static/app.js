// jobplug dashboard: confirmations, live relative times, auto-refresh of counts.
// Only ever writes textContent: job data never becomes markup.
"use strict";

(function () {
  const UNITS = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];

  function relative(date) {
    const delta = (Date.now() - date.getTime()) / 1000;
    const abs = Math.abs(delta);
    if (abs < 1) return "just now";
    for (const [unit, size] of UNITS) {
      if (abs >= size) {
        const text = Math.floor(abs / size) + " " + unit;
        return delta > 0 ? text + " ago" : "in " + text;
      }
    }
    return "just now";
  }

  function duration(seconds) {
    let total = Math.max(0, Math.floor(seconds));
    for (let i = 0; i < UNITS.length; i++) {
      const [unit, size] = UNITS[i];
      if (total >= size || size === 1) {
        let text = Math.floor(total / size) + " " + unit;
        if (i + 1 < UNITS.length) {
          const [minorUnit, minorSize] = UNITS[i + 1];
          const minor = Math.floor((total % size) / minorSize);
          if (minor) text += " " + minor + " " + minorUnit;
        }
        return text;
      }
    }
    return "0 s";
  }

  const number = (n) => n.toLocaleString("en-US");

  function refreshTimes() {
    for (const el of document.querySelectorAll("time[datetime]")) {
      el.textContent = relative(new Date(el.getAttribute("datetime")));
    }
  }

  async function getJSON(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(path + ": " + response.status);
    return response.json();
  }

  async function refreshCounts() {
    const stats = await getJSON(document.body.dataset.root + "/stats");
    for (const el of document.querySelectorAll("[data-count]")) {
      const value = stats[el.dataset.count];
      el.textContent = value === null || value === undefined ? "–" : number(value);
    }
  }

  async function refreshQueues(table) {
    const queues = await getJSON(table.dataset.source);
    const rows = new Map();
    for (const row of table.tBodies[0].rows) rows.set(row.dataset.handler, row);
    const same = queues.length === rows.size && queues.every((q) => rows.has(q.job_name));
    if (!same) {
      window.location.reload(); // a queue came or went: the server renders the new table
      return;
    }
    for (const q of queues) {
      const row = rows.get(q.job_name);
      row.querySelector("[data-field=count]").textContent = number(q.count);
      row.querySelector("[data-field=latency]").textContent =
        q.latency === null ? "unknown" : duration(q.latency);
    }
  }

  async function tick() {
    if (document.hidden) return;
    try {
      await refreshCounts();
      const table = document.querySelector("table[data-source]");
      if (table) await refreshQueues(table);
      const empty = document.querySelector("[data-empty-source]");
      if (empty && (await getJSON(empty.dataset.emptySource)).length) window.location.reload();
      document.body.classList.remove("stale");
    } catch (err) {
      document.body.classList.add("stale"); // shown as a hint; the next tick tries again
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", () => {
    const every = Number(document.body.dataset.refreshMs) || 5000;
    setInterval(tick, every);
    setInterval(refreshTimes, 10000);
  });
})();
