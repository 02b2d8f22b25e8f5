// An invite link carries its code after "#" (/join#code=...), so the code never reaches the
// server's or a proxy's access log. Put it in the form, then drop it from the address bar
// and history. Old printouts with ?code= still work: the server fills the form from those.
const match = /^#code=([A-Za-z0-9-]{4,40})$/.exec(window.location.hash);
if (match) {
  const input = document.querySelector('input[name="code"]');
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  if (input && !input.value) {
    input.value = match[1];
    // The link already gave the code: go straight on to what follows it (a staff member's
    // passphrase, a patient's information sheet) rather than ask for a "Next" that adds nothing.
    if (input.form && !input.form.querySelector('input[name="password"]')) input.form.requestSubmit();
  }
}
