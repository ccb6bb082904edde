// SPDX-License-Identifier: GPL-2.0-or-later
// node: an HTTP server and a keep-alive client in one event loop (libuv's
// epoll, its eventfd, a TCP listener and one connection reused for every
// request), a 200 ms setInterval and a fs.watch on its own directory.
// It checks itself every turn: each reply numbers the request, the timer
// never fires in a burst (no two ticks closer than 100 ms: a restart that
// let time jump would fire the missed ones at once), the connection is
// never replaced, and a file written after a restart is seen by the
// watcher. SIGUSR2: "PASS node-loop ticks=T got=G watched=W", or FAIL.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const dir = process.argv[2] || '.';
let served = 0, got = 0, ticks = 0, watched = 0, bad = '';
let lastTick = process.hrtime.bigint(), conn = null;

const server = http.createServer((req, res) => {
  served++;
  res.end('n=' + served);
});
server.on('connection', (s) => {
  if (conn) bad = bad || 'the client connection was replaced';
  conn = s;
});

fs.watch(dir, (ev, name) => {
  if (name && name.startsWith('poke-')) watched++;
});

server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ask = () => {
    http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        got++;
        if (body !== 'n=' + got) bad = bad || 'reply "' + body + '" to request ' + got;
        setTimeout(ask, 20);
      });
    }).on('error', (e) => { bad = bad || 'http: ' + e.message; });
  };
  ask();
  setInterval(() => {
    const now = process.hrtime.bigint();
    if (ticks > 0 && now - lastTick < 100000000n)
      bad = bad || 'timer burst: ticks ' + ticks + ' and ' + (ticks + 1) + ' ' + (now - lastTick) / 1000000n + ' ms apart';
    lastTick = now;
    ticks++;
    console.log('tick ' + ticks + ' got ' + got);
  }, 200);
  console.log('READY node-loop port ' + port);
});

process.on('SIGUSR2', () => {
  if (bad)
    console.log('FAIL node-loop ' + bad);
  else
    console.log('PASS node-loop ticks=' + ticks + ' got=' + got + ' watched=' + watched);
});
process.on('SIGUSR1', () => {
  fs.writeFileSync(path.join(dir, 'poke-' + Date.now()), 'x');
});
