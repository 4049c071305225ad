// hiy dashboard console: a terminal (xterm.js, served by hiy from its npm package) on the run
// channel (docs/run-and-cron.md): binary frames carry bytes, the first byte the stream (0 input,
// 1 stdout, 2 stderr); text frames carry JSON control messages. No inline script anywhere (CSP).
(function () {
  'use strict';

  // xterm.js adds <style> elements for its colours and sizes; this page's CSP allows styles with
  // its nonce only, so every <style> made from here on carries it. The nonce is readable from
  // this script's own element while it runs (and only by script).
  var nonce = document.currentScript && document.currentScript.nonce;
  if (nonce) {
    var create = Document.prototype.createElement;
    Document.prototype.createElement = function (tag, opts) {
      var el = create.call(this, tag, opts);
      if (String(tag).toLowerCase() === 'style') el.setAttribute('nonce', nonce);
      return el;
    };
  }

  var STDIN = 0;
  var encoder = new TextEncoder();

  function start(root) {
    var form = root.querySelector('form');
    var input = root.querySelector('input[name=command]');
    var button = form.querySelector('button[type=submit]');
    var status = root.querySelector('.console-status');
    var screen = root.querySelector('.console-screen');
    var term = null;
    var fit = null;
    var ws = null;

    function say(text) { status.textContent = text; }

    function send(bytes) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      var frame = new Uint8Array(bytes.length + 1);
      frame[0] = STDIN;
      frame.set(bytes, 1);
      ws.send(frame);
    }

    function control(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

    function ensureTerminal() {
      if (term) return;
      term = new window.Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000, fontSize: 14 });
      fit = new window.FitAddon.FitAddon();
      term.loadAddon(fit);
      term.open(screen);
      term.onData(function (d) { send(encoder.encode(d)); });
      term.onBinary(function (d) {
        var b = new Uint8Array(d.length);
        for (var i = 0; i < d.length; i++) b[i] = d.charCodeAt(i) & 255;
        send(b);
      });
      term.onResize(function (size) { control({ type: 'resize', cols: size.cols, rows: size.rows }); });
      window.addEventListener('resize', function () { fit.fit(); });
    }

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (ws) return;
      ensureTerminal();
      fit.fit();
      term.reset();
      term.focus();
      var q = new URLSearchParams();
      q.set('csrf', root.getAttribute('data-csrf'));
      q.append('cmd', input.value.trim() || 'sh');
      q.set('cols', String(term.cols));
      q.set('rows', String(term.rows));
      var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + root.getAttribute('data-socket') + '?' + q.toString();
      var ended = false;
      ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      button.disabled = true;
      say('Starting…');
      ws.onmessage = function (ev) {
        if (typeof ev.data !== 'string') {
          var bytes = new Uint8Array(ev.data);
          if (bytes.length > 1) term.write(bytes.subarray(1));
          return;
        }
        var m;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.type === 'started') {
          say('Running (run #' + m.run + ', release v' + m.release + '). Type into the terminal; exit ends the session.');
          root.setAttribute('data-run', String(m.run));
        } else if (m.type === 'exit') {
          ended = true;
          term.write('\r\n\x1b[2m[exited with code ' + m.code + (m.reason ? ': ' + m.reason : '') + ']\x1b[0m\r\n');
          say('Exited with code ' + m.code + (m.reason ? ' (' + m.reason + ')' : '') + '.');
          root.setAttribute('data-exit', String(m.code));
        } else if (m.type === 'error') {
          ended = true;
          say('Could not start: ' + m.message);
        }
      };
      ws.onclose = function () {
        if (!ended) say('The connection to hiy closed (the session ended).');
        ws = null;
        button.disabled = false;
      };
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-console]').forEach(start);
  });
})();
