// promptreg web UI: the one script. Every page works without it; it adds instant filtering on
// the index (the server filters, this fetches the same URL as you type) and the diff toggle.
"use strict";
(function () {
  var form = document.querySelector("form[data-instant]");
  if (form && window.fetch && window.DOMParser) {
    var timer = null, seq = 0, shown = location.pathname + location.search;
    var update = function () {
      var params = new URLSearchParams(new FormData(form));
      Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) params.delete(k); });
      var url = form.getAttribute("action") + (params.toString() ? "?" + params : "");
      // The same filters (a `change` as the field loses focus after typing): keep the results,
      // and the keyboard's place in them.
      if (url === shown) return;
      shown = url;
      var mine = ++seq;
      fetch(url, { headers: { "accept": "text/html" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (text) {
          if (mine !== seq) return;
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("results");
          var here = document.getElementById("results");
          if (fresh && here) { here.replaceWith(fresh); }
          history.replaceState(null, "", url);
        })
        .catch(function () { shown = null; /* the results stay; the next change tries again */ });
    };
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 120); });
    form.addEventListener("change", function () { clearTimeout(timer); update(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); update(); });
  }
  var views = document.querySelector("[data-views]");
  if (views) {
    views.addEventListener("click", function (e) {
      var link = e.target.closest("a[data-view]");
      if (!link) return;
      e.preventDefault();
      var view = link.getAttribute("data-view");
      ["unified", "split"].forEach(function (v) {
        var el = document.getElementById("view-" + v);
        if (el) el.hidden = v !== view;
      });
      views.querySelectorAll("a[data-view]").forEach(function (a) {
        if (a === link) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
      });
      history.replaceState(null, "", link.href);
    });
  }
})();
