/* sitroom — the situation board, live and keyboard-driven. Plain ES5.

   The server renders every tile; this keeps them current from the stream
   (alert.created, delivery.updated, alert.cancelled, alert.closed,
   post.status) and re-evaluates every post's connection every 5 s against
   its last heartbeat (fetched every 15 s: a post that stays connected
   announces nothing, so only its heartbeats tell it is still there).

   Keys: arrows move between posts, Enter opens the post's latest alert,
   n opens the composer, / focuses the filter, Escape leaves the filter. */
(function () {
  "use strict";

  var dataEl = document.getElementById("board-data");
  var boardEl = document.getElementById("board");
  if (!dataEl || !boardEl) { return; }
  var model;
  try { model = JSON.parse(dataEl.textContent); } catch (e) { return; }
  var S = window.Sitroom;
  var T = (S && S.text) || {};
  function tx(k, f) { return T[k] || f || k; }
  function now() { return S ? S.serverNow() : new Date().getTime(); }
  var startSkew = model.at ? model.at - new Date().getTime() : 0;
  if (!S) { now = function () { return new Date().getTime() + startSkew; }; }

  var ranks = { missed: 6, escalated: 5, pending: 4, delivered: 3, confirmed_by_phone: 2, acknowledged: 1 };
  var tiles = {};
  var list = boardEl.querySelectorAll(".tile");
  for (var i = 0; i < list.length; i++) { tiles[list[i].getAttribute("data-post")] = list[i]; }
  var alerts = model.alerts || [];
  function alertIdx(id) {
    for (var j = 0; j < alerts.length; j++) { if (alerts[j].id === id) { return j; } }
    return -1;
  }

  function cls(state) {
    if (state === "acknowledged") { return "ok"; }
    if (state === "pending" || state === "delivered") { return "warn"; }
    if (state === "escalated" || state === "missed") { return "danger"; }
    return "muted";
  }

  function connected(p) {
    return !!p.last_seen && now() - p.last_seen < model.window_ms;
  }

  function attention(p) {
    var best = "", r = 0;
    for (var k in p.cells) {
      if (!p.cells.hasOwnProperty(k) || alertIdx(k) < 0) { continue; }
      var c = p.cells[k];
      var key = c.phone && !c.acked ? "confirmed_by_phone" : c.state;
      if ((ranks[key] || 0) > r) { r = ranks[key]; best = key; }
    }
    return best;
  }

  function paint(id, changed) {
    var el = tiles[id], p = model.posts[id];
    if (!el || !p) { return; }
    var att = attention(p);
    var conn = connected(p);
    var c = el.className.replace(/\s*(att-\S+|conn-no|changed)/g, "");
    c += " att-" + (att || "none");
    if (!p.centre && !conn) { c += " conn-no"; }
    el.className = c;
    var connEl = el.querySelector("[data-conn]");
    if (connEl) {
      var label = p.centre ? tx("centre_desk", "Centre desk") : (conn ? tx("conn_ok", "Connected") : tx("conn_no", "NOT CONNECTED"));
      if (!p.centre && !conn && p.last_seen) {
        label += " · " + tx("last_seen", "last seen %s").replace("%s", ago(now() - p.last_seen));
      }
      if (connEl.textContent !== label) { connEl.textContent = label; }
    }
    var ul = el.querySelector("[data-cells]");
    var latest = "";
    if (ul) {
      while (ul.firstChild) { ul.removeChild(ul.firstChild); }
      for (var j = 0; j < alerts.length; j++) {
        var a = alerts[j], cell = p.cells[a.id];
        if (!cell) { continue; }
        if (!latest) { latest = a.id; }
        var li = document.createElement("li");
        li.className = "cell cell-" + cls(cell.state);
        li.setAttribute("data-alert", a.id);
        var t = document.createElement("span");
        t.className = "cell-title";
        t.textContent = (a.exercise ? tx("exercise", "EXERCISE") + " " : "") + a.title;
        var s = document.createElement("span");
        s.className = "cell-state";
        s.textContent = (cell.phone && !cell.acked ? tx("dstate_confirmed_by_phone", "by phone") : tx("dstate_" + cell.state, cell.state)) +
          (cell.late ? " · " + tx("late", "LATE") : "");
        li.appendChild(t);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(s);
        ul.appendChild(li);
      }
    }
    var href = latest ? "/alerts/" + encodeURIComponent(latest) + "#d-" + p.code : "/directory/posts/" + encodeURIComponent(p.code);
    el.setAttribute("data-href", href);
    var link = el.querySelector(".tile-code");
    if (link) { link.setAttribute("href", href); }
    if (changed) {
      el.className += " changed";
      setTimeout(function () { el.className = el.className.replace(/\s*changed/g, ""); }, 2500);
    }
  }

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) { return (T.seconds_ago || "%d s ago").replace("%d", s); }
    if (s < 3600) { return (T.minutes_ago || "%d min %d s ago").replace("%d", Math.floor(s / 60)).replace("%d", s % 60); }
    return (T.hours_ago || "%d h ago").replace("%d", Math.floor(s / 3600));
  }

  function sums() {
    var n = { disconnected: 0, red: 0, amber: 0, green: 0, connected: 0 };
    for (var id in model.posts) {
      if (!model.posts.hasOwnProperty(id)) { continue; }
      var p = model.posts[id];
      if (!p.centre) { if (connected(p)) { n.connected++; } else { n.disconnected++; } }
      var a = attention(p);
      if (a === "missed" || a === "escalated") { n.red++; } else if (a === "pending" || a === "delivered") { n.amber++; } else if (a) { n.green++; }
    }
    for (var k in n) {
      if (!n.hasOwnProperty(k)) { continue; }
      var el = document.querySelector("[data-sum='" + k + "']");
      if (el && el.textContent !== String(n[k])) { el.textContent = String(n[k]); }
    }
  }

  function paintAll() {
    for (var id in tiles) { if (tiles.hasOwnProperty(id)) { paint(id, false); } }
    sums();
    openList();
  }

  // openList redraws the list of open alerts above the tiles from the model.
  function openList() {
    var ul = document.getElementById("open-alert-list");
    var none = document.getElementById("no-open-alerts");
    if (!ul) {
      if (!alerts.length) { return; }
      var sec = document.createElement("section");
      sec.className = "open-alerts";
      ul = document.createElement("ul");
      ul.className = "plain open-alert-list";
      ul.id = "open-alert-list";
      sec.appendChild(ul);
      boardEl.parentNode.insertBefore(sec, boardEl);
    }
    if (none) { none.hidden = alerts.length > 0; }
    while (ul.firstChild) { ul.removeChild(ul.firstChild); }
    for (var j = 0; j < alerts.length; j++) {
      var a = alerts[j], counts = {};
      for (var id in model.posts) {
        if (model.posts.hasOwnProperty(id) && model.posts[id].cells[a.id]) {
          var st = model.posts[id].cells[a.id].state;
          counts[st] = (counts[st] || 0) + 1;
        }
      }
      var li = document.createElement("li");
      li.setAttribute("data-alert", a.id);
      if (a.exercise) { li.appendChild(badge("badge badge-exercise", tx("exercise", "EXERCISE"))); li.appendChild(document.createTextNode(" ")); }
      li.appendChild(badge("badge prio prio-" + a.priority, tx("priority_" + a.priority, a.priority)));
      li.appendChild(document.createTextNode(" "));
      var link = document.createElement("a");
      link.href = "/alerts/" + encodeURIComponent(a.id);
      link.textContent = a.title;
      li.appendChild(link);
      li.appendChild(document.createTextNode(" "));
      var order = ["acknowledged", "delivered", "pending", "escalated", "missed", "cancelled"];
      for (var o = 0; o < order.length; o++) {
        if (counts[order[o]]) {
          li.appendChild(badge("badge badge-" + cls(order[o]), counts[order[o]] + " " + tx("dstate_" + order[o], order[o])));
          li.appendChild(document.createTextNode(" "));
        }
      }
      ul.appendChild(li);
    }
  }
  // The summary and the list of open alerts add up every post: redraw them
  // at most twice a second, however many deliveries change.
  var totalsTimer = null;
  function totals() {
    if (totalsTimer) { return; }
    totalsTimer = setTimeout(function () { totalsTimer = null; sums(); openList(); }, 500);
  }
  function badge(c, text) { var b = document.createElement("span"); b.className = c; b.textContent = text; return b; }

  // ---- the stream ----------------------------------------------------------

  function setCell(d) {
    var p = model.posts[d.post_id];
    if (!p) { return false; }
    p.cells[d.alert_id] = { state: d.state, late: !!d.late, phone: !!d.confirmed_by_phone_at, acked: d.acked_at ? Date.parse(d.acked_at) : 0 };
    return true;
  }

  function fetchAlert(id) {
    if (!S) { return; }
    S.request("GET", S.cfg.alerts_api + encodeURIComponent(id), null, function (st, al) {
      if (st !== 200 || !al || al.state !== "open") { return; }
      if (alertIdx(al.id) < 0) {
        alerts.unshift({ id: al.id, title: al.title, priority: al.priority, exercise: !!al.exercise });
      }
      var ds = al.deliveries || [];
      for (var j = 0; j < ds.length; j++) { if (setCell(ds[j])) { paint(ds[j].post_id, true); } }
      totals();
    });
  }

  if (S) {
    S.on("alert.created", function (ev) {
      if (ev.data && ev.data.id) { fetchAlert(ev.data.id); }
    });
    S.on("delivery.updated", function (ev) {
      var d = ev.data;
      if (!d || !d.alert_id) { return; }
      if (alertIdx(d.alert_id) < 0) { fetchAlert(d.alert_id); return; }
      if (setCell(d)) { paint(d.post_id, true); totals(); }
    });
    var ended = function (ev) {
      var a = ev.data;
      if (!a || !a.id) { return; }
      var k = alertIdx(a.id);
      if (k >= 0) { alerts.splice(k, 1); }
      for (var id in model.posts) { if (model.posts.hasOwnProperty(id)) { delete model.posts[id].cells[a.id]; } }
      paintAll();
    };
    S.on("alert.cancelled", ended);
    S.on("alert.closed", ended);
    S.on("post.status", function (ev) {
      var s = ev.data, p = s && model.posts[s.post_id];
      if (!p) { return; }
      if (s.connected) { p.last_seen = Math.max(p.last_seen || 0, Date.parse(s.since) || now()); }
      paint(s.post_id, true);
      totals();
    });
  }

  // Heartbeats renew a connection without an event: read them now and then.
  function poll() {
    if (!S) { return; }
    S.request("GET", "/board/presence.json", null, function (st, m) {
      if (st === 200 && m) {
        for (var id in m) {
          if (m.hasOwnProperty(id) && model.posts[id]) { model.posts[id].last_seen = m[id]; }
        }
      }
    });
  }
  setInterval(poll, 15000);
  setInterval(function () {
    for (var id in tiles) { if (tiles.hasOwnProperty(id)) { paint(id, false); } }
    sums();
  }, 5000);

  // ---- keyboard ---------------------------------------------------------------

  var filter = document.getElementById("board-filter");
  var current = null;

  function visible() {
    var out = [];
    var all = boardEl.querySelectorAll(".tile");
    for (var j = 0; j < all.length; j++) { if (!all[j].hidden) { out.push(all[j]); } }
    return out;
  }
  function focusTile(el) {
    if (!el) { return; }
    if (current && current !== el) { current.setAttribute("tabindex", "-1"); }
    current = el;
    el.setAttribute("tabindex", "0");
    el.focus();
  }
  function move(dir) {
    var vs = visible();
    if (!vs.length) { return; }
    var idx = current ? vs.indexOf(current) : -1;
    if (idx < 0) { focusTile(vs[0]); return; }
    if (dir === "left") { focusTile(vs[Math.max(0, idx - 1)]); return; }
    if (dir === "right") { focusTile(vs[Math.min(vs.length - 1, idx + 1)]); return; }
    // Up and down: the nearest tile in the row above or below.
    var r = current.getBoundingClientRect(), cx = r.left + r.width / 2, best = null, bestD = Infinity;
    for (var j = 0; j < vs.length; j++) {
      var q = vs[j].getBoundingClientRect();
      var below = q.top >= r.bottom - 2, above = q.bottom <= r.top + 2;
      if ((dir === "down" && !below) || (dir === "up" && !above)) { continue; }
      var dy = dir === "down" ? q.top - r.bottom : r.top - q.bottom;
      var d = dy * 4 + Math.abs(q.left + q.width / 2 - cx);
      if (d < bestD) { bestD = d; best = vs[j]; }
    }
    if (best) { focusTile(best); }
  }
  function typing(t) {
    var n = t && t.nodeName;
    return n === "INPUT" || n === "TEXTAREA" || n === "SELECT" || (t && t.isContentEditable);
  }
  var keys = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down", Left: "left", Right: "right", Up: "up", Down: "down" };

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (document.documentElement.className.indexOf("alert-on") >= 0) { return; }
    var t = ev.target;
    if (t === filter) {
      if (ev.key === "Escape" || ev.key === "Esc") { filter.value = ""; apply(); focusTile(visible()[0]); ev.preventDefault(); }
      else if (ev.key === "Enter" || ev.key === "ArrowDown" || ev.key === "Down") { var vs = visible(); if (vs.length) { focusTile(vs[0]); } ev.preventDefault(); }
      return;
    }
    if (typing(t)) { return; }
    if (ev.key === "/") {
      ev.preventDefault();
      if (filter) {
        // The "/" itself must not land in the box (some keyboards and
        // remote-control tools send its character apart from the key).
        swallowSlash = true;
        setTimeout(function () { swallowSlash = false; }, 500);
        filter.focus();
        filter.select();
      }
      return;
    }
    if (ev.key === "n" || ev.key === "N") {
      if (S && S.cfg.centre) { window.location.href = "/alerts/new"; ev.preventDefault(); }
      return;
    }
    if (keys[ev.key]) {
      if (!current || !current.parentNode || current.hidden) { var v = visible(); focusTile(v[0]); } else { move(keys[ev.key]); }
      ev.preventDefault();
      return;
    }
    if (ev.key === "Enter" && t && t.className && /(^|\s)tile(\s|$)/.test(t.className)) {
      window.location.href = t.getAttribute("data-href");
      ev.preventDefault();
    }
  }, false);

  boardEl.addEventListener("click", function (ev) {
    var t = ev.target;
    while (t && t !== boardEl && !/(^|\s)tile(\s|$)/.test(t.className || "")) { t = t.parentNode; }
    if (!t || t === boardEl) { return; }
    if (ev.target.nodeName === "A") { return; }
    window.location.href = t.getAttribute("data-href");
  }, false);
  boardEl.addEventListener("focusin", function (ev) {
    if (/(^|\s)tile(\s|$)/.test(ev.target.className || "")) {
      if (current && current !== ev.target) { current.setAttribute("tabindex", "-1"); }
      current = ev.target;
      current.setAttribute("tabindex", "0");
    }
  }, false);

  function apply() {
    var words = (filter.value || "").toLowerCase().split(/\s+/);
    var groups = boardEl.querySelectorAll(".board-group");
    for (var g = 0; g < groups.length; g++) {
      var ts = groups[g].querySelectorAll(".tile"), shown = 0;
      for (var j = 0; j < ts.length; j++) {
        var hay = ts[j].getAttribute("data-search") || "", ok = true;
        for (var w = 0; w < words.length; w++) { if (words[w] && hay.indexOf(words[w]) < 0) { ok = false; break; } }
        ts[j].hidden = !ok;
        if (ok) { shown++; }
      }
      groups[g].hidden = shown === 0;
    }
  }
  var swallowSlash = false;
  if (filter) {
    filter.addEventListener("input", apply, false);
    filter.addEventListener("keypress", function (ev) {
      if (swallowSlash && (ev.key === "/" || ev.charCode === 47)) { ev.preventDefault(); }
      swallowSlash = false;
    }, false);
  }

  // The first tile takes part in the tab order.
  var first = boardEl.querySelector(".tile");
  if (first) { first.setAttribute("tabindex", "0"); current = first; }
  paintAll();
})();
