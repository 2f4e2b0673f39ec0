#!/usr/bin/env node
// Makes the demo shop's product video (apps/demo-shop/public/product-video.webm): a 4-second
// canvas animation recorded by headless Chromium's MediaRecorder (VP8 in WebM), with the
// Duration element that MediaRecorder leaves out added afterwards, so that browsers know the
// length at once (progress percentages, seeking). Run it again only to change the video:
//   node apps/demo-shop/tools/make-video.mjs
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const SECONDS = 4;
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'product-video.webm');

/** EBML variable-size integer at pos: {value, length} (marker bit removed). */
function vint(buf, pos) {
  const first = buf[pos];
  let length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
  let value = first & (0xff >> length);
  for (let i = 1; i < length; i++) value = value * 256 + buf[pos + i];
  const unknown = value === 2 ** (7 * length) - 1;
  return { value: unknown ? -1 : value, length };
}

function idLength(first) {
  let n = 1;
  while (n <= 4 && !(first & (0x80 >> (n - 1)))) n++;
  return n;
}

function sizeBytes(size) {
  // 8-byte EBML size: 0x01 followed by 7 bytes.
  const b = Buffer.alloc(8);
  b[0] = 0x01;
  let v = size;
  for (let i = 7; i >= 1; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

/** Inserts Segment/Info/Duration (float64, in TimecodeScale units: ms by default). */
export function addDuration(webm, durationMs) {
  let pos = 0;
  // EBML header
  pos += idLength(webm[pos]);
  const h = vint(webm, pos);
  pos += h.length + h.value;
  // Segment
  const segStart = pos;
  if (webm.readUInt32BE(pos) !== 0x18538067) throw new Error('no Segment element');
  pos += 4;
  const seg = vint(webm, pos);
  const segSizePos = pos;
  pos += seg.length;
  const segDataStart = pos;
  while (pos < webm.length) {
    const idLen = idLength(webm[pos]);
    const id = webm.readUIntBE(pos, idLen);
    const size = vint(webm, pos + idLen);
    const dataStart = pos + idLen + size.length;
    if (id === 0x1549a966) {
      const info = webm.subarray(dataStart, dataStart + size.value);
      const duration = Buffer.alloc(11);
      duration[0] = 0x44;
      duration[1] = 0x89;
      duration[2] = 0x88; // size 8
      duration.writeDoubleBE(durationMs, 3);
      const newInfo = Buffer.concat([webm.subarray(pos, pos + idLen), sizeBytes(info.length + duration.length), info, duration]);
      let result = Buffer.concat([webm.subarray(0, pos), newInfo, webm.subarray(dataStart + size.value)]);
      if (seg.value !== -1) {
        const newSeg = seg.value + (newInfo.length - (dataStart + size.value - pos));
        result = Buffer.concat([result.subarray(0, segSizePos), sizeBytes(newSeg), result.subarray(segDataStart)]);
      }
      void segStart;
      return result;
    }
    if (size.value < 0) break;
    pos = dataStart + size.value;
  }
  throw new Error('no Info element');
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.MOSAIC_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    const page = await browser.newPage();
    const base64 = await page.evaluate(async (seconds) => {
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 180;
      document.body.appendChild(canvas);
      const g = canvas.getContext('2d');
      const stream = canvas.captureStream(15);
      const rec = new MediaRecorder(stream, { mimeType: 'video/webm;codecs=vp8', videoBitsPerSecond: 110_000 });
      const chunks = [];
      rec.ondataavailable = (e) => chunks.push(e.data);
      const started = performance.now();
      const draw = () => {
        const t = Math.min(1, (performance.now() - started) / (seconds * 1000));
        const bg = g.createLinearGradient(0, 0, 320, 180);
        bg.addColorStop(0, '#f4ede4');
        bg.addColorStop(1, '#e3d3c0');
        g.fillStyle = bg;
        g.fillRect(0, 0, 320, 180);
        // machine
        g.fillStyle = '#3b3b3b';
        g.fillRect(40, 30, 110, 120);
        g.fillStyle = '#9a9a9a';
        g.fillRect(70, 60, 50, 12);
        // stream of coffee
        g.fillStyle = '#5a3a22';
        if (t < 0.85) g.fillRect(93, 72, 4, 40);
        // cup
        g.fillStyle = '#ffffff';
        g.fillRect(78, 112, 34, 30);
        g.fillStyle = '#5a3a22';
        const level = Math.round(26 * t);
        g.fillRect(80, 140 - level, 30, level);
        g.fillStyle = '#2b1d12';
        g.font = 'bold 18px sans-serif';
        g.fillText('Barista Duo', 170, 70);
        g.font = '14px sans-serif';
        g.fillText(`espresso in ${(seconds * (1 - t)).toFixed(1)} s`, 170, 95);
        g.fillStyle = '#b5651d';
        g.fillRect(0, 172, 320 * t, 8);
      };
      rec.start();
      await new Promise((resolve) => {
        const tick = () => {
          draw();
          if (performance.now() - started < seconds * 1000) requestAnimationFrame(tick);
          else resolve();
        };
        tick();
      });
      const stopped = new Promise((resolve) => (rec.onstop = resolve));
      rec.stop();
      await stopped;
      const blob = new Blob(chunks, { type: 'video/webm' });
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (const b of bytes) s += String.fromCharCode(b);
      return btoa(s);
    }, SECONDS);
    const webm = addDuration(Buffer.from(base64, 'base64'), SECONDS * 1000);
    writeFileSync(out, webm);
    console.log(`wrote ${out} (${webm.length} bytes, ${SECONDS} s)`);
  } finally {
    await browser.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
