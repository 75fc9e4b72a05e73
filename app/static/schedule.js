// The Schedule page: show only the fields of the kind of rule being added.
(function () {
  "use strict";
  var form = document.getElementById("rule-form");
  if (!form) { return; }
  var kind = document.getElementById("rule-kind");
  var onDate = document.getElementById("rule-on_date");
  function group(name) { return form.querySelector('[data-field="' + name + '"]'); }
  function show(name, visible) {
    var element = group(name);
    if (element) { element.style.display = visible ? "" : "none"; }
  }
  function update() {
    var cap = kind.value === "cap";
    show("action", !cap);
    show("closed", !cap && Boolean(onDate.value));
    show("limit_a", cap);
    show("cap_scope", cap);
  }
  kind.addEventListener("change", update);
  onDate.addEventListener("change", update);
  update();
})();
