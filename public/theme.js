// Applies the colour theme before the first paint, so there is no flash: the
// `gatehouse_theme` cookie (light or dark) wins; without it the OS setting decides, and a
// change of the OS setting applies at once. Loaded as a file, not inline, so a strict
// Content-Security-Policy can forbid inline scripts.
(function () {
  var root = document.documentElement;
  var query = window.matchMedia("(prefers-color-scheme: dark)");
  function chosen() {
    var m = document.cookie.match(/(?:^|;\s*)gatehouse_theme=(light|dark)/);
    return m ? m[1] : null;
  }
  function apply() {
    var theme = chosen();
    root.classList.toggle("dark", theme ? theme === "dark" : query.matches);
  }
  apply();
  query.addEventListener("change", apply);
})();
