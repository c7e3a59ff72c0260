/* Lockgate web console behaviour, loaded from /ui/static (the CSP allows no inline script):
   charts drawn from JSON blocks, metric detail dialogs opened from scorecard rows, settings
   forms that apply on change. Every page still works without it. */
(function () {
  "use strict";

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
    if (!dialog || dialog.open) return;
    dialog.lockgateOpener = opener;
    dialog.showModal();
    // A slot of content fetched on first opening (htmx: hx-trigger="lockgate-open once").
    dialog.querySelectorAll("[hx-trigger^='lockgate-open']").forEach(function (slot) {
      slot.dispatchEvent(new CustomEvent("lockgate-open"));
    });
  }

  document.addEventListener("keydown", function (event) {
    var row = event.target;
    if (event.key === "Enter" && row.matches && row.matches("tr[data-detail]")) {
      event.preventDefault();
      openDetail(row.getAttribute("data-detail"), row);
    }
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    var link = event.target.closest("a[data-detail]");
    var row = event.target.closest("tr[data-detail]");
    if (link) event.preventDefault();
    if (link || row) openDetail((link || row).getAttribute("data-detail"), row || link);
  });

  // "close" does not bubble: listen in the capture phase, and give focus back to the opener.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.lockgateOpener) {
      dialog.lockgateOpener.focus();
      dialog.lockgateOpener = null;
    }
  }, true);

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-autosubmit")) form.requestSubmit();
  });

  document.addEventListener("DOMContentLoaded", drawCharts);
})();
