(function () {
  'use strict';
  var INTERVAL = 2000;
  var rates = [];
  var renders = 0;
  var lastOk = null;

  function el(id) { return document.getElementById(id); }

  // Every value is set as text (textContent) or as an attribute through the DOM: never as markup.
  function show(id, text, raw) {
    var e = el(id);
    if (!e) { return; }
    e.textContent = text === null || text === undefined || text === '' ? '—' : String(text);
    if (raw !== undefined) {
      e.setAttribute('data-value', raw === null || raw === undefined ? '' : String(raw));
    }
  }
  function cls(id, c) { var e = el(id); if (e) { e.className = c; } }
  function count(n) { return n === null || n === undefined ? null : Number(n).toLocaleString('en-US'); }
  function bytes(b) {
    if (b === null || b === undefined || b < 0) { return null; }
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    var v = b;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
  }
  function ms(v) {
    if (v === null || v === undefined) { return null; }
    if (v >= 10000) { return (v / 1000).toFixed(1) + ' s'; }
    return (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)) + ' ms';
  }
  function secs(s) {
    if (s === null || s === undefined) { return null; }
    if (s < 120) { return s.toFixed(s < 10 ? 1 : 0) + ' s'; }
    var m = Math.floor(s / 60);
    if (m < 120) { return m + ' min'; }
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function time(iso) {
    if (!iso) { return null; }
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }
  function stateClass(state) {
    if (state === 'STREAMING') { return 'ok'; }
    if (state === 'STANDBY') { return 'info'; }
    if (state === 'STARTING' || state === 'CONNECTING') { return 'warn'; }
    return 'bad';
  }

  function spark(values) {
    var svg = el('spark');
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    if (values.length < 2) { return; }
    var max = Math.max.apply(null, values.concat([1]));
    var pts = values.map(function (v, i) {
      var x = (i / (values.length - 1)) * 300;
      var y = 38 - (v / max) * 36;
      return x.toFixed(1) + ',' + y.toFixed(1);
    }).join(' ');
    var line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', pts);
    svg.appendChild(line);
  }

  function render(s) {
    var r = s.relay || {};
    var rep = r.replication || {};
    show('state', r.state, r.state);
    cls('state', 'badge ' + stateClass(r.state));
    show('role', r.role, r.role);
    cls('role', 'badge ' + (r.role === 'active' ? 'ok' : 'info'));
    show('slot', rep.slot);
    show('database', rep.database);
    show('stream', r.stream);
    show('relay-state', r.state, r.state);
    show('relay-role', r.role, r.role);
    show('lock', r.holdsLock ? 'yes' : 'no', r.holdsLock);
    show('nats', r.nats && r.nats.connection);
    show('failures', count(r.consecutiveFailures), r.consecutiveFailures);
    show('uptime', secs(r.uptimeSeconds), r.uptimeSeconds);
    show('last-error', r.lastError || 'none');

    var lag = s.lag || {};
    show('lag-p99', ms(lag.p99Ms), lag.p99Ms);
    show('lag-p99-2', ms(lag.p99Ms), lag.p99Ms);
    show('lag-p50', ms(lag.p50Ms), lag.p50Ms);
    show('lag-max', ms(lag.maxMs), lag.maxMs);
    show('lag-samples', count(lag.samples), lag.samples);
    show('lag-window', lag.windowSeconds);

    var t = s.throughput || {};
    show('rate', count(t.eventsPerSecond), t.eventsPerSecond);
    show('rate-seconds', t.rateSeconds);
    show('events-window', count(t.eventsInWindow), t.eventsInWindow);
    show('events-total', count(t.eventsTotal), t.eventsTotal);
    show('duplicates', count(t.duplicatesTotal), t.duplicatesTotal);
    show('in-flight', count(t.inFlight), t.inFlight);
    rates.push(Number(t.eventsPerSecond) || 0);
    if (rates.length > 60) { rates.shift(); }
    spark(rates);

    var w = s.wal || {};
    show('wal', bytes(w.retainedBytes), w.retainedBytes);
    show('wal-measured', w.measuredSecondsAgo === null || w.measuredSecondsAgo === undefined
      ? 'not yet (measured every ' + w.checkIntervalSeconds + ' s while active)'
      : secs(w.measuredSecondsAgo) + ' ago', w.measuredSecondsAgo);
    var hb = s.heartbeat || {};
    show('heartbeat', secs(hb.ageSeconds), hb.ageSeconds);
    cls('heartbeat', hb.ageSeconds > 60 ? 'bad' : '');
    show('heartbeat-interval', secs(hb.intervalSeconds), hb.intervalSeconds);

    var dl = s.deadLetters || {};
    show('dl-since-start', count(dl.sinceStart), dl.sinceStart);
    cls('dl-since-start', dl.sinceStart > 0 ? 'big bad' : 'big');
    show('dl-in-stream', count(dl.inStream), dl.inStream);
    show('dl-subject', dl.subject);
    var body = el('dl-kinds');
    while (body.firstChild) { body.removeChild(body.firstChild); }
    var kinds = dl.byKind || {};
    Object.keys(kinds).forEach(function (k) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-kind', k);
      var a = document.createElement('td');
      a.textContent = k;
      var b = document.createElement('td');
      b.textContent = count(kinds[k]);
      b.setAttribute('data-value', String(kinds[k]));
      tr.appendChild(a);
      tr.appendChild(b);
      body.appendChild(tr);
    });

    var st = s.stream || {};
    show('stream-name', st.name);
    if (st.available) {
      show('stream-messages', count(st.messages), st.messages);
      show('stream-bytes', bytes(st.bytes), st.bytes);
      show('stream-first', st.messages > 0 ? '#' + count(st.firstSeq) + ' at ' + time(st.firstTime) : 'empty', st.firstSeq);
      show('stream-last', st.messages > 0 ? '#' + count(st.lastSeq) + ' at ' + time(st.lastTime) : 'empty', st.lastSeq);
      show('stream-consumers', count(st.consumers), st.consumers);
    } else {
      show('stream-messages', st.problem || 'not available', '');
      ['stream-bytes', 'stream-first', 'stream-last', 'stream-consumers'].forEach(function (id) { show(id, null, ''); });
    }
    show('stream-read', time(st.readAt));

    var list = el('errors');
    while (list.firstChild) { list.removeChild(list.firstChild); }
    var errors = s.errors || [];
    el('errors-none').hidden = errors.length > 0;
    errors.forEach(function (e) {
      var li = document.createElement('li');
      var when = document.createElement('time');
      when.textContent = time(e.at);
      var src = document.createElement('span');
      src.className = 'src';
      src.textContent = e.source;
      var msg = document.createElement('span');
      msg.className = 'msg';
      msg.textContent = e.message;
      li.appendChild(when);
      li.appendChild(src);
      li.appendChild(msg);
      if (e.count > 1) {
        var n = document.createElement('span');
        n.className = 'count';
        n.textContent = '×' + e.count;
        li.appendChild(n);
      }
      list.appendChild(li);
    });

    lastOk = s.generatedAt;
    show('updated', 'updated ' + time(s.generatedAt));
    cls('updated', 'updated');
    renders++;
    document.body.setAttribute('data-rendered', String(renders));
  }

  function failed(err) {
    show('updated', 'cannot reach the relay (' + (err && err.message ? err.message : err) + ')'
      + (lastOk ? '; showing ' + time(lastOk) : ''));
    cls('updated', 'updated bad');
  }

  function poll() {
    fetch('status.json', { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.json();
      })
      .then(render)
      .catch(failed)
      .then(function () { setTimeout(poll, INTERVAL); });
  }

  poll();
})();
