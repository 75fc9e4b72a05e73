// The position of a site or station (spec §8 Address): a click on the map in the
// iframe fills latitude and longitude; typed coordinates move the marker.
(function () {
  var lat = document.getElementById("latitude");
  var lng = document.getElementById("longitude");
  var frame = document.getElementById("position-map");
  if (!lat || !lng || !frame) return;
  window.addEventListener("message", function (event) {
    if (event.origin !== window.location.origin) return;
    var d = event.data || {};
    if (d.type !== "portal-position") return;
    lat.value = d.lat.toFixed(6);
    lng.value = d.lng.toFixed(6);
  });
  function moved() {
    var a = parseFloat(lat.value), b = parseFloat(lng.value);
    if (isNaN(a) || isNaN(b)) return;
    frame.contentWindow.postMessage({type: "portal-move-marker", lat: a, lng: b}, window.location.origin);
  }
  lat.addEventListener("change", moved);
  lng.addEventListener("change", moved);
})();
