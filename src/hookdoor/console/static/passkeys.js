// Passkeys on the console's pages: register one on the security page, sign in with one on the
// sign-in page. The server's routes are Casdoor's (webauthn/signup|signin/begin|finish); this file
// only converts between their base64url JSON and the ArrayBuffers navigator.credentials speaks.
"use strict";

function b64urlToBuffer(text) {
  var padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  var raw = atob(padded);
  var bytes = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
  return bytes.buffer;
}

function bufferToB64url(buffer) {
  var bytes = new Uint8Array(buffer);
  var raw = "";
  for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function withBuffers(options) {
  var key = options.publicKey;
  key.challenge = b64urlToBuffer(key.challenge);
  if (key.user) { key.user.id = b64urlToBuffer(key.user.id); }
  (key.excludeCredentials || []).concat(key.allowCredentials || []).forEach(function (c) {
    c.id = b64urlToBuffer(c.id);
  });
  return options;
}

function credentialJson(credential) {
  var r = credential.response;
  var response = {clientDataJSON: bufferToB64url(r.clientDataJSON)};
  if (r.attestationObject) {
    response.attestationObject = bufferToB64url(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = bufferToB64url(r.authenticatorData);
    response.signature = bufferToB64url(r.signature);
    response.userHandle = r.userHandle ? bufferToB64url(r.userHandle) : null;
  }
  return {id: credential.id, rawId: bufferToB64url(credential.rawId), type: credential.type, response: response,
          clientExtensionResults: credential.getClientExtensionResults()};
}

function showProblem(element, message) {
  element.textContent = message;
  element.hidden = false;
}

function ceremony(begin, make, finish, problem, done) {
  fetch(begin, {credentials: "same-origin"})
    .then(function (answer) { return answer.json(); })
    .then(function (options) {
      if (!options.publicKey) { throw new Error(options.msg || "the server did not begin the ceremony"); }
      return make(withBuffers(options));
    })
    .then(function (credential) {
      return fetch(finish, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
                            body: JSON.stringify(credentialJson(credential))});
    })
    .then(function (answer) { return answer.json(); })
    .then(function (result) {
      if (result.status !== "ok") { throw new Error(result.msg); }
      done(result);
    })
    .catch(function (error) { showProblem(problem, error.message || String(error)); });
}

document.addEventListener("click", function (event) {
  var register = event.target.closest("[data-passkey-register]");
  if (register) {
    ceremony("/api/webauthn/signup/begin", function (o) { return navigator.credentials.create(o); },
             "/api/webauthn/signup/finish", document.getElementById("passkey-problem"),
             function () { window.location.assign("/console/account/security?notice=passkey-added"); });
  }
  var signIn = event.target.closest("[data-passkey-signin]");
  if (signIn) {
    ceremony("/api/webauthn/signin/begin", function (o) { return navigator.credentials.get(o); },
             "/api/webauthn/signin/finish", document.getElementById("passkey-problem"),
             function () { window.location.assign(signIn.getAttribute("data-next") || "/console"); });
  }
});
