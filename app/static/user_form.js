// Show only the fields of the chosen role on the add/edit user form (spec §2).
(function () {
  var fieldsByRole = {
    ev_user: ["tag", "parking"],
    administrator: ["email_at_alarm"],
    support: ["email_at_alarm"],
    site_admin: ["email_at_alarm", "sites"],
  };
  var optional = ["tag", "parking", "email_at_alarm", "sites"];
  var role = document.getElementById("role");
  if (!role) return;
  function groupOf(name) {
    var input = document.getElementById(name);
    return input ? input.closest(".form-group") : null;
  }
  function update() {
    var shown = fieldsByRole[role.value] || [];
    optional.forEach(function (name) {
      var group = groupOf(name);
      if (group) group.style.display = shown.indexOf(name) >= 0 ? "" : "none";
    });
  }
  role.addEventListener("change", update);
  update();
})();
