// Lockgate web console behaviours. Loaded with defer from /ui/static (no inline script), and
// every page works without them: a dialog opener is a link to the same page with the dialog
// rendered open, and the header search is a plain GET form.
(function () {
  "use strict";

  // The element that opened each dialog, to give focus back to when the dialog closes.
  var openers = new WeakMap();

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

  document.querySelectorAll("[data-opens]").forEach(upgradeOpener);

  document.addEventListener("click", function (event) {
    var opener = event.target instanceof Element && event.target.closest("[data-opens]");
    if (!opener) {
      return;
    }
    var dialog = document.getElementById(opener.getAttribute("data-opens"));
    if (!(dialog instanceof HTMLDialogElement)) {
      return;
    }
    event.preventDefault();
    openers.set(dialog, opener);
    if (dialog.open) {
      dialog.close();
    }
    dialog.showModal();
  });

  // "close" does not bubble: listen in the capture phase to see every dialog's.
  document.addEventListener(
    "close",
    function (event) {
      var opener = openers.get(event.target);
      if (opener) {
        opener.focus();
      }
    },
    true
  );

  // Ctrl+K (Cmd+K on a Mac) focuses the header search box.
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
      var box = document.getElementById("top-search");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    }
  });
})();
