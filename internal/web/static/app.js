/* sitroom — the little script the pages use. Plain ES5 so that an old
   duty-desk browser runs it; every page works without it. It
   1. keeps the header clocks ticking (local time in the viewer's zone and
      UTC), corrected by the server's time so a wrong PC clock does not show;
   2. asks before a button marked data-confirm submits its form;
   3. counts down the wait after too many failed sign-ins. */
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // formatter returns a function that writes a Date as HH:MM in zone,
  // through the browser's zone database when it has one (right across a
  // change of offset while the page stays open), else with the fixed
  // offset the server gave.
  function formatter(zone, offsetMin) {
    try {
      var f = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false });
      f.format(new Date());
      return function (d) { return f.format(d).replace(/^24:/, "00:"); };
    } catch (e) {
      return function (d) {
        var l = new Date(d.getTime() + offsetMin * 60000);
        return pad(l.getUTCHours()) + ":" + pad(l.getUTCMinutes());
      };
    }
  }

  function startClocks() {
    var box = document.querySelector("[data-clock]");
    if (!box) { return; }
    // skew: how far the server's clock is ahead of this browser's.
    var skew = (parseInt(box.getAttribute("data-epoch"), 10) || Date.now()) - Date.now();
    var clocks = [];
    var local = box.querySelector("[data-clock-local]");
    if (local) {
      clocks.push({ el: local, fmt: formatter(box.getAttribute("data-zone"), parseInt(box.getAttribute("data-offset"), 10) || 0) });
    }
    var utc = box.querySelector("[data-clock-utc]");
    if (utc) { clocks.push({ el: utc, fmt: formatter("UTC", 0) }); }
    var zoned = document.querySelectorAll("[data-zone-clock]");
    for (var i = 0; i < zoned.length; i++) {
      var t = zoned[i].querySelector("[data-time]");
      if (t) {
        clocks.push({ el: t, fmt: formatter(zoned[i].getAttribute("data-zone-clock"), parseInt(zoned[i].getAttribute("data-offset"), 10) || 0) });
      }
    }
    function tick() {
      var now = new Date(Date.now() + skew);
      for (var j = 0; j < clocks.length; j++) {
        clocks[j].el.textContent = clocks[j].fmt(now);
      }
      // wake again just after the next minute starts
      setTimeout(tick, 60000 - (now.getTime() % 60000) + 50);
    }
    tick();
  }

  function confirmButtons() {
    document.addEventListener("click", function (ev) {
      var el = ev.target;
      while (el && el !== document && !(el.getAttribute && el.getAttribute("data-confirm"))) {
        el = el.parentNode;
      }
      if (el && el !== document && el.getAttribute) {
        if (!window.confirm(el.getAttribute("data-confirm"))) {
          ev.preventDefault();
        }
      }
    }, false);
  }

  function countdowns() {
    var els = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < els.length; i++) {
      (function (el) {
        var form = document.querySelector("form[action='/login'] button[type=submit]");
        var left = parseInt(el.getAttribute("data-countdown"), 10) || 0;
        var text = el.textContent;
        if (form) { form.disabled = true; }
        var timer = setInterval(function () {
          left -= 1;
          if (left <= 0) {
            clearInterval(timer);
            el.style.display = "none";
            if (form) { form.disabled = false; }
            return;
          }
          el.textContent = text.replace(/\d+/, String(left));
        }, 1000);
      })(els[i]);
    }
  }

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn, false); }
  }
  ready(function () {
    startClocks();
    confirmButtons();
    countdowns();
  });
})();
