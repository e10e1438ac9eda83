// Links drawn as plain <a> (the tables' unit and official names are DataTable Markdown cells)
// open their page inside the running app, as dcc.Link does: the browser keeps plotly and
// Dash's scripts and the page asks only for its own callbacks. A full reload cost every
// drill-down 1.1-1.8 s (bench/pages.py). Ctrl/Cmd/Shift/middle clicks, other origins, other
// targets and anything that is not a Dash page (the report PDF, the API) are left to the browser.
(function () {
  var PAGES = /^\/(?:$|unit\/|official\/|okr$|alerts$|explore$|data$|settings$)/;
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) { return; }
    var link = event.target && event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || link.hasAttribute("download") || (link.target && link.target !== "_self")) { return; }
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || !PAGES.test(url.pathname)) { return; }
    event.preventDefault();
    if (url.pathname + url.search + url.hash === window.location.pathname + window.location.search + window.location.hash) {
      return;
    }
    window.history.pushState({}, "", url.pathname + url.search + url.hash);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));  // dcc.Location's own signal
    if (!url.hash) { window.scrollTo(0, 0); }
  });
})();

// Navigation decided in the browser: no server round trip to learn that nothing changes.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  nav: {
    // The period picker: a new period is a new URL of the same page.
    period: function (period, pathname, args) {
      if (!period || period === (args || {}).period) { return window.dash_clientside.no_update; }
      return (pathname || "/") + "?period=" + encodeURIComponent(period);
    },
    // A treemap box: that unit's page for the same period (the page re-checks the scope).
    tree: function (click, args) {
      var point = click && click.points && click.points[0];
      if (!point || !point.id) { return window.dash_clientside.no_update; }
      return "/unit/" + encodeURIComponent(point.id) + "?period=" + encodeURIComponent((args || {}).period || "");
    }
  }
});
