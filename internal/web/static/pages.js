/* sitroom — what the operational pages do beyond the live connection.
   Plain ES5; every page works without it (forms post, pages reload).

   - Parts marked data-live-fragment are fetched again from the server
     (the same page with ?fragment=NAME) when the stream says something
     they show has changed: the server renders them, in the reader's
     language, from the committed state.
   - The composer previews who the chosen targets reach, as they are
     chosen, and fills the form from a template.
   - Countdowns to a deadline; the readiness form shows the fields of the
     kind of check chosen; a filter box over a list of checkboxes. */
(function () {
  "use strict";

  var S = window.Sitroom;
  var T = (S && S.text) || {};
  function tx(k, f) { return T[k] || f || k; }
  function meta(name) {
    var m = document.querySelector("meta[name='" + name + "']");
    return m ? m.getAttribute("content") : "";
  }
  function now() { return S ? S.serverNow() : new Date().getTime(); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function get(url, cb) {
    var x = new XMLHttpRequest();
    x.open("GET", url, true);
    x.setRequestHeader("Accept", "text/html");
    x.onreadystatechange = function () { if (x.readyState === 4) { cb(x.status, x.responseText); } };
    x.send(null);
  }

  // ---- live fragments ------------------------------------------------------

  function liveFragments() {
    var els = document.querySelectorAll("[data-live-fragment]");
    if (!S || !els.length) { return; }
    for (var i = 0; i < els.length; i++) {
      (function (el) {
        var name = el.getAttribute("data-live-fragment");
        var onlyAlert = el.getAttribute("data-live-alert");
        var evs = (el.getAttribute("data-live-events") || "delivery.updated alert.cancelled alert.closed").split(/\s+/);
        var timer = null, busy = false, again = false;
        var refresh = function () {
          if (busy) { again = true; return; }
          busy = true;
          var q = window.location.search ? window.location.search + "&" : "?";
          get(window.location.pathname + q + "fragment=" + encodeURIComponent(name), function (st, html) {
            busy = false;
            if (st === 200 && html) {
              // Keep what someone is typing (a phone-confirmation note).
              var typing = document.activeElement && el.contains(document.activeElement) && document.activeElement.nodeName === "INPUT";
              if (!typing) { el.innerHTML = html; wire(el); }
            }
            if (again) { again = false; schedule(); }
          });
        };
        var schedule = function () {
          clearTimeout(timer);
          timer = setTimeout(refresh, 400);
        };
        for (var j = 0; j < evs.length; j++) {
          S.on(evs[j], function (ev) {
            var d = ev.data || {};
            if (onlyAlert && d.alert_id !== onlyAlert && d.id !== onlyAlert) { return; }
            if (onlyAlert && (ev.type === "alert.cancelled" || ev.type === "alert.closed")) { S.reload(); return; }
            schedule();
          });
        }
      })(els[i]);
    }
  }

  // ---- countdowns ------------------------------------------------------------

  function countdowns() {
    var els = document.querySelectorAll("[data-deadline]");
    if (!els.length) { return; }
    var tick = function () {
      for (var i = 0; i < els.length; i++) {
        var left = Date.parse(els[i].getAttribute("data-deadline")) - now();
        var s = Math.abs(Math.round(left / 1000));
        var txt = (s >= 3600 ? Math.floor(s / 3600) + ":" + pad(Math.floor(s / 60) % 60) : Math.floor(s / 60)) + ":" + pad(s % 60);
        els[i].textContent = left >= 0 ? tx("left", "%s left").replace("%s", txt) : tx("overdue", "OVERDUE by %s").replace("%s", txt);
        els[i].className = "countdown" + (left < 0 ? " overdue" : "");
      }
    };
    tick();
    setInterval(tick, 1000);
  }

  // ---- composer ----------------------------------------------------------------

  function encode(form) {
    var parts = [];
    for (var i = 0; i < form.elements.length; i++) {
      var e = form.elements[i];
      if (!e.name || e.disabled) { continue; }
      if ((e.type === "checkbox" || e.type === "radio") && !e.checked) { continue; }
      if (e.type === "submit" || e.type === "button") { continue; }
      parts.push(encodeURIComponent(e.name) + "=" + encodeURIComponent(e.value));
    }
    return parts.join("&");
  }

  function composer() {
    var form = document.getElementById("compose");
    if (!form) { return; }
    var box = document.getElementById("preview");
    var key = document.getElementById("preview-key");
    var all = document.getElementById("f-all");
    var sets = document.getElementById("target-sets");
    var timer = null, seq = 0;
    var nojs = form.querySelectorAll("[data-nojs]");
    for (var i = 0; i < nojs.length; i++) { nojs[i].hidden = true; }

    var refresh = function () {
      var mine = ++seq;
      var x = new XMLHttpRequest();
      x.open("POST", form.getAttribute("data-preview"), true);
      x.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
      x.setRequestHeader("X-CSRF-Token", meta("csrf-token"));
      x.onreadystatechange = function () {
        if (x.readyState !== 4 || mine !== seq) { return; }
        if (x.status === 200) {
          box.innerHTML = x.responseText;
          var pb = document.getElementById("preview-box");
          if (pb && key) { key.value = pb.getAttribute("data-key"); }
          box.className = "";
        } else {
          box.className = "stale";
        }
      };
      x.send(encode(form));
    };
    var schedule = function () {
      // The key no longer matches until the new preview is in: a Send
      // meanwhile shows the preview first instead of sending.
      if (key) { key.value = ""; }
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    };
    var allState = function () {
      if (sets) { sets.className = "target-sets" + (all && all.checked ? " disabled" : ""); }
    };
    form.addEventListener("change", function (ev) {
      var n = ev.target.name;
      if (n === "all" || n === "state" || n === "ministry" || n === "post" || n === "exercise") { allState(); schedule(); }
      if (n === "template") { useTemplate(ev.target); }
    }, false);
    allState();

    function setChecks(name, values) {
      var boxes = form.querySelectorAll("input[name='" + name + "']");
      for (var j = 0; j < boxes.length; j++) { boxes[j].checked = values.indexOf(boxes[j].value) >= 0; }
    }
    function useTemplate(sel) {
      var o = sel.options[sel.selectedIndex];
      if (!o || !o.value) { return; }
      var set = function (id, v) { var e = document.getElementById(id); if (e) { e.value = v; } };
      set("f-title", o.getAttribute("data-title"));
      set("f-body", o.getAttribute("data-body"));
      set("f-ack_within", o.getAttribute("data-within"));
      var pr = form.querySelectorAll("input[name='priority']");
      for (var j = 0; j < pr.length; j++) { pr[j].checked = pr[j].value === o.getAttribute("data-priority"); }
      var ex = document.getElementById("f-exercise");
      if (ex) { ex.checked = o.getAttribute("data-exercise") === "1"; }
      var split = function (a) { var v = o.getAttribute(a) || ""; return v ? v.split(",") : []; };
      var tall = o.getAttribute("data-all") === "1";
      var ts = split("data-states"), tm = split("data-ministries"), tp = split("data-posts");
      // A template without targets leaves the chosen targets alone.
      if (tall || ts.length || tm.length || tp.length) {
        if (all) { all.checked = tall; }
        setChecks("state", ts); setChecks("ministry", tm); setChecks("post", tp);
        allState();
        schedule();
      }
    }
    // A preview that was rendered with the page is current.
  }

  // ---- checkbox filter --------------------------------------------------------

  function filters() {
    var els = document.querySelectorAll("input[data-filter]");
    for (var i = 0; i < els.length; i++) {
      (function (inp) {
        inp.addEventListener("input", function () {
          var q = inp.value.toLowerCase();
          var items = document.querySelectorAll(inp.getAttribute("data-filter"));
          for (var j = 0; j < items.length; j++) {
            var hay = items[j].getAttribute("data-text") || items[j].textContent.toLowerCase();
            var cb = items[j].querySelector("input");
            items[j].hidden = q !== "" && hay.indexOf(q) < 0 && !(cb && cb.checked);
          }
          // A group whose items are all hidden goes too.
          var groups = document.querySelectorAll(".post-group");
          for (var g = 0; g < groups.length; g++) {
            var shown = 0, ls = groups[g].querySelectorAll(".check");
            for (var k = 0; k < ls.length; k++) { if (!ls[k].hidden) { shown++; } }
            groups[g].hidden = shown === 0;
          }
        }, false);
        // Enter in the filter must not send the form.
        inp.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { ev.preventDefault(); } }, false);
      })(els[i]);
    }
  }

  // ---- readiness: the fields of the kind chosen -----------------------------------

  function kinds() {
    var radios = document.querySelectorAll("input[data-kind]");
    if (!radios.length) { return; }
    var show = function () {
      var k = "";
      for (var i = 0; i < radios.length; i++) { if (radios[i].checked) { k = radios[i].value; } }
      var fs = document.querySelectorAll(".kind-fields");
      for (var j = 0; j < fs.length; j++) {
        var fors = (fs[j].getAttribute("data-for") || "").split(" ");
        fs[j].hidden = fors.indexOf(k) < 0;
      }
    };
    for (var i = 0; i < radios.length; i++) { radios[i].addEventListener("change", show, false); }
    show();
  }

  function wire(root) { /* parts fetched again carry only forms and links */ return root; }

  function start() {
    liveFragments();
    countdowns();
    composer();
    filters();
    kinds();
  }
  if (document.readyState !== "loading") { start(); } else { document.addEventListener("DOMContentLoaded", start, false); }
})();
