// Security keys and passkeys: the browser half of the WebAuthn ceremony (the server half is
// oncology_ui/core/passkeys.py). Buttons carry their URLs in data- attributes; no inline script.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.error || "The request was refused.");
        return data;
      });
    });
  }

  function run(button) {
    var status = document.getElementById(button.dataset.status);
    var register = button.dataset.passkey === "register";
    var show = function (text) { if (status) status.textContent = text; };
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      show("This browser cannot use security keys or passkeys here; use your authenticator app.");
      return;
    }
    button.disabled = true;
    show("Follow your browser's prompt…");
    post(button.dataset.optionsUrl)
      .then(function (options) {
        if (register) {
          return navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey),
          });
        }
        return navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey),
        });
      })
      .then(function (credential) {
        var nameField = document.getElementById("id_passkey_name");
        return post(button.dataset.completeUrl + "?next=" + encodeURIComponent(button.dataset.next || ""), {
          credential: credential.toJSON(),
          name: nameField ? nameField.value : "",
        });
      })
      .then(function (data) {
        window.location.assign(data.next);
      })
      .catch(function (error) {
        show(error.message || "That did not work; try again or use your authenticator app.");
        button.disabled = false;
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-passkey]");
    if (button) {
      event.preventDefault();
      run(button);
    }
  });
})();
