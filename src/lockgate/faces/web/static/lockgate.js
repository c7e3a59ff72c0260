/* Lockgate web console behaviour, loaded with defer from /ui/static (the CSP allows no inline
   script). Every page still works without it: a dialog opener is a link to the same page with the
   dialog rendered open, the header search and the results settings are plain GET forms.
   Here: dialogs opened as modals that give focus back to their opener, metric detail dialogs
   opened from scorecard rows, charts drawn from JSON blocks, forms that apply on change, the
   log stream's Pause button, and Ctrl+K for the header search. */
(function () {
  "use strict";

  // The element that opened each dialog, to give focus back to when the dialog closes.
  var openers = new WeakMap();

  function showDialog(dialog, opener) {
    openers.set(dialog, opener);
    if (dialog.open) dialog.close();
    dialog.showModal();
  }

  function upgradeOpener(opener) {
    // A link that opens a dialog acts as a button once scripts run.
    opener.setAttribute("role", "button");
    opener.setAttribute("aria-haspopup", "dialog");
    opener.addEventListener("keydown", function (event) {
      if (event.key === " ") {
        event.preventDefault();
        opener.click();
      }
    });
  }

  function drawCharts() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source || window.Chart.getChart(canvas)) return;
      new window.Chart(canvas, JSON.parse(source.textContent));
    });
  }

  function openDetail(id, opener) {
    var dialog = document.getElementById(id);
    if (!(dialog instanceof HTMLDialogElement) || dialog.open) return;
    showDialog(dialog, opener);
    // A slot of content fetched on first opening (htmx: hx-trigger="lockgate-open once").
    dialog.querySelectorAll("[hx-trigger^='lockgate-open']").forEach(function (slot) {
      slot.dispatchEvent(new CustomEvent("lockgate-open"));
    });
  }

  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) return;
    var opener = event.target.closest("[data-opens]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-opens"));
      if (dialog instanceof HTMLDialogElement) {
        event.preventDefault();
        showDialog(dialog, opener);
      }
      return;
    }
    var link = event.target.closest("a[data-detail]");
    var row = event.target.closest("tr[data-detail]");
    if (link) event.preventDefault();
    if (link || row) openDetail((link || row).getAttribute("data-detail"), row || link);
  });

  // "close" does not bubble: listen in the capture phase to see every dialog's.
  document.addEventListener(
    "close",
    function (event) {
      var opener = openers.get(event.target);
      if (opener) {
        openers.delete(event.target);
        opener.focus();
      }
    },
    true
  );

  document.addEventListener("keydown", function (event) {
    var row = event.target;
    if (event.key === "Enter" && row instanceof Element && row.matches("tr[data-detail]")) {
      event.preventDefault();
      openDetail(row.getAttribute("data-detail"), row);
      return;
    }
    // Ctrl+K (Cmd+K on a Mac) focuses the header search box.
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
      var box = document.getElementById("top-search");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    }
  });

  // A log stream's Pause button: while pressed, the stream's polls are cancelled before they
  // are sent (htmx keeps its timer; the request never leaves).
  function togglePause(button) {
    var stream = document.getElementById(button.getAttribute("data-pauses"));
    if (!stream) return;
    var paused = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", paused ? "true" : "false");
    stream.toggleAttribute("data-paused", paused);
    var state = document.getElementById("stream-state");
    if (state) state.textContent = paused ? "Paused." : "Refreshes every 5 seconds.";
  }

  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) return;
    var button = event.target.closest("button[data-pauses]");
    if (button) togglePause(button);
  });

  document.addEventListener("htmx:before:request", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-paused]")) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-autosubmit")) form.requestSubmit();
  });

  function start() {
    document.querySelectorAll("[data-opens]").forEach(upgradeOpener);
    // Pausing needs this script; without it the page's Refresh link is the control.
    document.querySelectorAll("button[data-pauses]").forEach(function (button) {
      button.hidden = false;
    });
    drawCharts();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
