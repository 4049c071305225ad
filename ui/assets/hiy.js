// hiy dashboard: the few behaviours htmx does not cover. No inline scripts anywhere (CSP).
(function () {
  'use strict';

  // Live log panes: <pre data-stream="/url">. The server sends HTML it rendered and escaped itself
  // ('line' events), a 'reset' before any replay (so a reconnect does not duplicate lines), and
  // 'end' with the final status when there is nothing more to come.
  function follow(pre) {
    var url = pre.getAttribute('data-stream');
    if (!url || !window.EventSource) return;
    var es = new EventSource(url);
    var atBottom = function () { return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40; };
    es.addEventListener('reset', function () { pre.innerHTML = ''; });
    es.addEventListener('line', function (ev) {
      var stick = atBottom();
      pre.insertAdjacentHTML('beforeend', ev.data + '\n');
      if (stick) pre.scrollTop = pre.scrollHeight;
    });
    es.addEventListener('end', function (ev) {
      es.close();
      pre.setAttribute('data-ended', ev.data || 'end');
      var target = pre.getAttribute('data-status-target');
      var badge = target && document.getElementById(target);
      if (badge && ev.data) {
        badge.textContent = ev.data;
        badge.className = 'badge b-' + ev.data.replace(/[^a-z]/g, '');
      }
    });
    pre.setAttribute('data-live', '1');
  }

  // Typed confirmation: the submit button stays disabled until the input matches exactly.
  function typedConfirm(input) {
    var form = input.form;
    var button = form && form.querySelector('button[type=submit]');
    if (!button) return;
    var want = input.getAttribute('data-confirm-match');
    var sync = function () { button.disabled = input.value !== want; };
    input.addEventListener('input', sync);
    sync();
  }

  // A plain confirm() before forms that change what is running (rollback, restart).
  function confirmSubmit(form) {
    form.addEventListener('submit', function (ev) {
      if (!window.confirm(form.getAttribute('data-confirm'))) ev.preventDefault();
    });
  }

  // Each element is set up once, whether it came with the page or in an htmx swap.
  function each(root, selector, fn) {
    root.querySelectorAll(selector).forEach(function (el) {
      if (el.hasAttribute('data-hiy')) return;
      el.setAttribute('data-hiy', '');
      fn(el);
    });
  }

  function init(root) {
    if (!root.querySelectorAll) return;
    each(root, 'pre[data-stream]', follow);
    each(root, 'input[data-confirm-match]', typedConfirm);
    each(root, 'form[data-confirm]', confirmSubmit);
    // Logs read from the bottom: the newest lines, and why a deploy failed, are at the end.
    root.querySelectorAll('pre.log').forEach(function (pre) { pre.scrollTop = pre.scrollHeight; });
  }

  document.addEventListener('DOMContentLoaded', function () { init(document); });
  document.addEventListener('htmx:load', function (ev) { init(ev.target); });
})();
