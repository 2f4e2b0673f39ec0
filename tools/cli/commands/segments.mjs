// `mosaic segments apply | list`.
import segLib from '../segments-lib.js';
import { UsageError } from './shared.mjs';
import { listSegments, segmentationClient } from './segmentation-client.mjs';
import { segmentsApply } from './segments-apply.mjs';

async function segmentsList(opts) {
  if (opts.positional.length > 2) throw new UsageError(`segments list takes no arguments (got "${opts.positional[2]}")`);
  const api = segmentationClient(opts);
  const segments = await listSegments(api);
  if (opts.json) process.stdout.write(`${JSON.stringify({ segments })}\n`);
  else if (segments.length === 0) process.stdout.write(`No segments on ${api.base}.\n`);
  else process.stdout.write(`${segLib.formatSegmentTable(segments).join('\n')}\n`);
  return 0;
}

export async function segmentsCommand(opts) {
  const sub = opts.positional[1];
  if (sub === 'apply') return segmentsApply(opts);
  if (sub === 'list') return segmentsList(opts);
  throw new UsageError(sub ? `unknown segments command "${sub}" (available: apply, list)` : 'segments needs a command: apply <dir> or list');
}
