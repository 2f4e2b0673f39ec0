#!/usr/bin/env node
// A local SMTP sink for `npm start` (or on its own: `node tools/scripts/smtp-sink.mjs`): accepts
// every message on 127.0.0.1:2525 (no auth, no TLS, any sender and recipient), writes each to
// .mosaic/mail/<timestamp>-<n>.eml and prints one line per mail. For trying email destinations
// locally: `"smtp": { "host": "127.0.0.1", "port": 2525 }`. Nothing is delivered anywhere.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { root } from './paths.mjs';

export const SMTP_SINK_PORT = 2525;

/** The unfolded value of a header in a raw message, MIME encoded-words decoded. */
function header(raw, name) {
  const head = raw.slice(0, raw.search(/\r?\n\r?\n/) >>> 0).replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (!line) return '';
  return line
    .slice(name.length + 1)
    .trim()
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=\s*(?==\?)?/g, (_m, _charset, enc, text) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_x, h) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

/** Starts the sink; resolves once it listens (rejects when the port is taken). */
export async function startSmtpSink({
  host = '127.0.0.1',
  port = SMTP_SINK_PORT,
  dir = join(root, '.mosaic', 'mail'),
  log = (m) => console.error(`[smtp-sink] ${m}`),
} = {}) {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 25 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        n += 1;
        const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${n}.eml`);
        try {
          writeFileSync(file, raw);
        } catch (err) {
          return callback(Object.assign(new Error(`sink could not write the message: ${err.message}`), { responseCode: 451 }));
        }
        const text = raw.toString('utf8');
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '<>';
        const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
        log(`${from} → ${to}  "${header(text, 'subject')}"  ${relative(root, file)}`);
        callback();
      });
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(`error: ${err.message}`));
  return {
    host,
    port: server.server.address().port,
    dir,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sink = await startSmtpSink();
  console.error(`[smtp-sink] listening on ${sink.host}:${sink.port}; mail goes to ${relative(root, sink.dir)}/ (Ctrl-C stops)`);
  const stop = () => void sink.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
