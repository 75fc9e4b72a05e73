// The navigator's colours follow the stations without a page reload (spec §3):
// poll the scoped status endpoint and set each node's status class.
(function () {
  var nav = document.getElementById("navigator");
  if (!nav) return;
  var url = nav.getAttribute("data-status-url");
  var interval = parseInt(nav.getAttribute("data-interval"), 10) || 5000;
  var STATES = ["online", "charging", "fault", "offline"];

  function apply(statuses) {
    nav.querySelectorAll("[data-node]").forEach(function (link) {
      var status = statuses[link.getAttribute("data-node")];
      if (!status || link.getAttribute("data-status") === status) return;
      STATES.forEach(function (s) { link.classList.remove("status-" + s); });
      link.classList.add("status-" + status);
      link.setAttribute("data-status", status);
    });
    document.dispatchEvent(new CustomEvent("portal:statuses", {detail: statuses}));
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (statuses) { if (statuses) apply(statuses); })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, interval); });
  }
  window.setTimeout(poll, interval);
})();
