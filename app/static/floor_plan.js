// Station positions (spec §8 Floor): drag a station onto the floor map with the
// mouse; the drop saves its place as fractions of the map's width and height.
// Without a floor map, the site's map (an iframe) reports where a dot was dropped.
(function () {
  var root = document.getElementById("floor-positions");
  if (!root) return;
  var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var result = document.getElementById("position-result");
  var plan = document.getElementById("floor-plan");

  function save(body) {
    result.textContent = "…";
    return fetch(root.getAttribute("data-save-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json"},
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (b) { b.ok = r.ok; return b; });
    }).then(function (b) {
      result.textContent = b.ok ? root.getAttribute("data-saved") : (b.text || root.getAttribute("data-failed"));
      result.setAttribute("data-status", b.ok ? "saved" : "error");
    }).catch(function () {
      result.textContent = root.getAttribute("data-failed");
      result.setAttribute("data-status", "error");
    });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== window.location.origin) return;
    var d = event.data || {};
    if (d.type === "portal-place") save({station: d.station, lat: d.lat, lng: d.lng});
  });

  if (!plan) return;
  var dragging = null;

  root.querySelectorAll(".floor-station[data-station]").forEach(function (icon) {
    icon.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      dragging = icon;
      if (icon.parentNode !== plan) {
        plan.appendChild(icon);
      }
      move(event);
    });
  });

  function fractions(event) {
    var box = plan.getBoundingClientRect();
    var x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    var y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
    return {x: x, y: y};
  }

  function move(event) {
    if (!dragging) return;
    var at = fractions(event);
    dragging.style.left = (at.x * 100) + "%";
    dragging.style.top = (at.y * 100) + "%";
  }

  document.addEventListener("pointermove", move);
  document.addEventListener("pointerup", function (event) {
    if (!dragging) return;
    var icon = dragging;
    dragging = null;
    var at = fractions(event);
    save({station: parseInt(icon.getAttribute("data-station"), 10), x: at.x, y: at.y});
  });
})();
