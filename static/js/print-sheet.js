// The invite sheet's Print button (the browser's own Print works without JavaScript too).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
