// The only script of the web tool (htmx does the rest): the upload progress bar of the campaign wizard.
document.addEventListener('htmx:xhr:progress', (event) => {
  const bar = document.getElementById('upload-progress');
  if (!bar || !event.detail.lengthComputable) return;
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});
document.addEventListener('htmx:afterRequest', () => {
  const bar = document.getElementById('upload-progress');
  if (bar) bar.hidden = true;
});
