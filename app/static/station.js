// Station Control and OCPP tabs (spec §8): each button sends one command as JSON
// and shows its result (accepted, rejected, offline, timed out, error) in place.
(function () {
  var root = document.getElementById("station-control");
  if (!root) return;
  var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var sending = root.getAttribute("data-sending") || "…";

  function show(target, body) {
    if (!target) return;
    target.setAttribute("data-status", body.status);
    var text = body.text || body.status;
    if (body.detail) text += " (" + body.detail + ")";
    if (body.session_id) text += " – #" + body.session_id;
    if (body.data && body.data.list_version !== undefined) text += " – v" + body.data.list_version;
    if (body.data && body.data.file_name) text += " – " + body.data.file_name;
    target.textContent = text;
  }

  function post(url, options, target) {
    if (target) { target.removeAttribute("data-status"); target.textContent = sending; }
    options.method = "POST";
    options.credentials = "same-origin";
    options.headers = Object.assign({"X-CSRFToken": token, "Accept": "application/json"}, options.headers || {});
    return fetch(url, options)
      .then(function (r) {
        return r.json().catch(function () { return {status: "error", text: r.status + " " + r.statusText}; });
      })
      .catch(function (e) { return {status: "error", text: String(e)}; })
      .then(function (body) { show(target, body); return body; });
  }

  function send(name, args, target) {
    return post(root.getAttribute("data-url").replace("NAME", name), {
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(args),
    }, target);
  }

  function argsOf(button) {
    var args = {};
    Array.prototype.forEach.call(button.attributes, function (a) {
      if (a.name.indexOf("data-arg-") === 0) args[a.name.slice(9)] = a.value;
    });
    var box = button.closest(".form-inline, .card-body, .d-flex") || root;
    box.querySelectorAll("[data-arg]").forEach(function (input) {
      args[input.getAttribute("data-arg")] = input.value;
    });
    return args;
  }

  function keyRow(key) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-key", key.key);
    var td = function () { var c = document.createElement("td"); tr.appendChild(c); return c; };
    var keyCell = td(); keyCell.className = "key"; keyCell.textContent = key.key;
    var valueCell = td();
    var value = key.value === null ? "" : key.value;
    if (key.readonly) {
      var span = document.createElement("span"); span.className = "value"; span.textContent = value;
      valueCell.appendChild(span);
    } else {
      var input = document.createElement("input");
      input.className = "form-control form-control-sm value"; input.value = value;
      valueCell.appendChild(input);
    }
    td().textContent = key.readonly ? "yes" : "no";
    var action = td();
    if (!key.readonly) {
      var button = document.createElement("button");
      button.className = "btn btn-sm btn-outline-primary save-key";
      button.textContent = root.getAttribute("data-save-label") || "Save";
      var result = document.createElement("span"); result.className = "command-result small ml-2";
      action.appendChild(button); action.appendChild(result);
    }
    return tr;
  }

  root.addEventListener("click", function (event) {
    var save = event.target.closest(".save-key");
    if (save) {
      event.preventDefault();
      var row = save.closest("tr");
      send("change_configuration",
           {key: row.getAttribute("data-key"), value: row.querySelector("input.value").value},
           row.querySelector(".command-result"));
      return;
    }
    var button = event.target.closest("[data-command]");
    if (!button) return;
    event.preventDefault();
    var name = button.getAttribute("data-command");
    var target = root.querySelector("[data-result-for='" + name + "']");
    send(name, argsOf(button), target).then(function (body) {
      if (name === "get_configuration" && body.keys) {
        var tbody = document.querySelector("#config-keys tbody");
        tbody.innerHTML = "";
        body.keys.forEach(function (key) { tbody.appendChild(keyRow(key)); });
      }
    });
  });
})();
