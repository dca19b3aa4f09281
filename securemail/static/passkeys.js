// Passkeys (WebAuthn) for the forms marked data-passkey: sign in, the second step,
// re-authentication, adding one. The server sends the options as JSON (binary fields in
// base64url) and checks what comes back; this file only carries them to the browser's API.
(function () {
  "use strict";

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function requestOptions(options) {
    options.challenge = fromB64url(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return options;
  }

  function creationOptions(options) {
    options.challenge = fromB64url(options.challenge);
    options.user.id = fromB64url(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return options;
  }

  function assertionJSON(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      },
      clientExtensionResults: credential.getClientExtensionResults()
    };
  }

  function attestationJSON(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        attestationObject: toB64url(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      },
      clientExtensionResults: credential.getClientExtensionResults()
    };
  }

  // The error paragraph (role="alert") is hidden while it has nothing to say, so the page
  // holds no empty alert; it shows, and is announced, once it has a text.
  function say(box, text) {
    box.textContent = text;
    box.hidden = !text;
  }

  function start(form, button) {
    var purpose = form.dataset.passkey;
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var errorBox = form.querySelector("[data-passkey-error]");
    var nameInput = form.querySelector("input[name=name]");
    say(errorBox, "");
    if (!window.PublicKeyCredential) {
      say(errorBox, "This browser can't use passkeys. Choose another way.");
      return;
    }
    button.disabled = true;
    var body = new URLSearchParams();
    body.set("purpose", purpose);
    fetch(form.dataset.optionsUrl, {
      method: "POST",
      headers: { "X-CSRFToken": token },
      body: body,
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw data;
        return data;
      });
    }).then(function (options) {
      if (purpose === "register") {
        return navigator.credentials.create({ publicKey: creationOptions(options) })
          .then(attestationJSON);
      }
      return navigator.credentials.get({ publicKey: requestOptions(options) })
        .then(assertionJSON);
    }).then(function (credential) {
      return fetch(form.dataset.verifyUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token, "Content-Type": "application/json" },
        body: JSON.stringify({
          purpose: purpose,
          credential: credential,
          next: form.dataset.next || "",
          name: nameInput ? nameInput.value : ""
        }),
        credentials: "same-origin"
      });
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw data;
        return data;
      });
    }).then(function (data) {
      window.location.assign(data.redirect);
    }).catch(function (problem) {
      button.disabled = false;
      if (problem && problem.redirect && !problem.error) {
        window.location.assign(problem.redirect);
        return;
      }
      if (problem && problem.error) {
        say(errorBox, problem.error);
        if (problem.redirect) window.setTimeout(function () { window.location.assign(problem.redirect); }, 2500);
      } else if (problem && problem.name === "NotAllowedError") {
        say(errorBox, "The passkey was not used (cancelled or timed out). Try again, or choose another way.");
      } else if (problem && problem.name === "InvalidStateError") {
        say(errorBox, "This device already holds a passkey for your account.");
      } else {
        say(errorBox, "That didn't work. Try again, or choose another way.");
      }
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var button = form.querySelector("[data-passkey-start]");
    if (!button) return;
    button.addEventListener("click", function () { start(form, button); });
  });
})();
