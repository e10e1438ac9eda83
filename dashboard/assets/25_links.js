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
