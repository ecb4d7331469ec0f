// Hookdoor console: small progressive enhancements. Every page works without this file.
"use strict";

function each(selector, root, fn) {
  Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
}

// ---- copy and reveal ------------------------------------------------------------------------------
function copyText(text, button) {
  var done = function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1200);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
    return;
  }
  var area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  done();
}

document.addEventListener("click", function (event) {
  var copy = event.target.closest("[data-copy]");
  if (copy) {
    var source = document.getElementById(copy.getAttribute("data-copy"));
    copyText(source.value || source.textContent, copy);
  }
  var reveal = event.target.closest("[data-reveal]");
  if (reveal) {
    var input = document.getElementById(reveal.getAttribute("data-reveal"));
    var hidden = input.type === "password";
    input.type = hidden ? "text" : "password";
    reveal.textContent = hidden ? "Hide" : "Reveal";
  }
  if (event.target.closest("[data-add-header]")) {
    var template = document.getElementById("header-row-template");
    var rows = document.querySelector("[data-headers]");
    rows.appendChild(template.content.cloneNode(true));
    rows.lastElementChild.querySelector("input").focus();
  }
  var remove = event.target.closest("[data-remove-header]");
  if (remove) {
    var row = remove.closest(".header-row");
    if (row.parentNode.querySelectorAll(".header-row").length > 1) {
      row.remove();
    } else {
      each("input", row, function (input) { input.value = ""; });
    }
  }
});

// ---- the events picker: search, select all per category, counts ----------------------------------
function setUpEventsPicker(picker) {
  var counter = picker.querySelector("[data-selected-count]");
  var search = picker.querySelector("[data-event-search]");

  function refresh() {
    counter.textContent = picker.querySelectorAll("input[name=events]:checked").length + " selected";
    each("[data-category]", picker, function (group) {
      var options = group.querySelectorAll(".event-option:not([hidden]) input[name=events]");
      var checked = group.querySelectorAll(".event-option:not([hidden]) input[name=events]:checked");
      var all = group.querySelector("[data-select-all]");
      all.checked = options.length > 0 && checked.length === options.length;
      all.indeterminate = checked.length > 0 && checked.length < options.length;
    });
  }

  picker.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      var group = event.target.closest("[data-category]");
      each(".event-option:not([hidden]) input[name=events]", group, function (box) {
        box.checked = event.target.checked;
      });
    }
    refresh();
  });

  var openBeforeSearch = null;  // each group's open state when the search began, restored when it is cleared

  search.addEventListener("input", function () {
    var query = search.value.trim().toLowerCase();
    if (query && openBeforeSearch === null) {
      openBeforeSearch = {};
      each("[data-category]", picker, function (group) {
        openBeforeSearch[group.getAttribute("data-category")] = group.open;
      });
    }
    if (!query && openBeforeSearch !== null) {
      each("[data-category]", picker, function (group) {
        var picked = group.querySelector("input[name=events]:checked") !== null;
        group.open = openBeforeSearch[group.getAttribute("data-category")] || picked;
      });
      openBeforeSearch = null;
    }
    each("[data-category]", picker, function (group) {
      var shown = 0;
      each(".event-option", group, function (option) {
        var text = (option.getAttribute("data-name") + " " + option.title).toLowerCase();
        var match = !query || text.indexOf(query) !== -1;
        option.hidden = !match;
        if (match) { shown += 1; }
      });
      group.hidden = shown === 0;
      if (query) { group.open = shown > 0; }
    });
    refresh();
  });
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); }
  });
  refresh();
}

// ---- live arrivals in an inspector bin (Server-Sent Events) --------------------------------------
function setUpArrivals(list) {
  if (!window.EventSource) { return; }
  var source = new EventSource(list.getAttribute("data-stream"));
  var counter = document.querySelector("[data-arrival-count]");
  var empty = list.querySelector("[data-empty]");
  var badge = document.querySelector("[data-live-badge]");
  source.addEventListener("open", function () {
    if (badge) { badge.textContent = "live"; }
  });
  source.addEventListener("arrival", function (event) {
    var holder = document.createElement("div");
    holder.innerHTML = event.data;
    var card = holder.firstElementChild;
    if (list.querySelector('[data-arrival-id="' + card.getAttribute("data-arrival-id") + '"]')) { return; }
    card.classList.add("fresh");
    list.insertBefore(card, list.firstChild);
    if (empty) { empty.hidden = true; }
    if (counter) { counter.textContent = String(Number(counter.textContent) + 1); }
  });
  source.addEventListener("expired", function () {
    source.close();
    if (badge) { badge.textContent = "expired"; badge.className = "badge failed"; }
  });
  source.addEventListener("error", function () {
    // A stream ends every few seconds and the browser reconnects by itself; only a closed one is news.
    if (badge && source.readyState === EventSource.CLOSED) { badge.textContent = "disconnected"; }
  });
}

// ---- live pages: on "changed", fetch the page again and swap its live regions ---------------------
function setUpLivePage(main) {
  if (!window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var version = main.getAttribute("data-live-version");
  var fetching = false, again = false;

  function swapRegions(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    each("[data-live-region]", main, function (region) {
      var replacement = fresh.getElementById(region.id);
      // A region holding what the user is typing into is left alone.
      if (replacement && !region.contains(document.activeElement)) { region.innerHTML = replacement.innerHTML; }
    });
  }

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) { if (html) { swapRegions(html); } })
      .catch(function () {})
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  var delay = 1000;
  function connect() {
    var source = new EventSource(main.getAttribute("data-live") + "?v=" + encodeURIComponent(version));
    source.addEventListener("open", function () { delay = 1000; });
    source.addEventListener("changed", function (event) {
      version = event.data;
      refresh();
    });
    source.addEventListener("error", function () {
      // The stream ends every few seconds: reconnect with the version now shown. One that keeps
      // failing (signed out, server gone) is tried less and less often.
      source.close();
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
}

document.addEventListener("DOMContentLoaded", function () {
  each("main[data-live]", document, setUpLivePage);
  each("[data-events-picker]", document, setUpEventsPicker);
  each("[data-stream]", document, setUpArrivals);
  // SAML's POST binding: the page carries a signed message on to its destination by itself.
  each("form[data-auto-submit]", document, function (form) { form.submit(); });
});
