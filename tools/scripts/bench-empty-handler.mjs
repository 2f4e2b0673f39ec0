// Starts the benchmarks' "empty handler" (bench-empty-server.cjs: Nest on Fastify, as the services,
// answering POST /v1/track with {success:true}) in a child process: the HTTP floor a service's
// figures stand next to.
import { join } from 'node:path';
import { spawnOwned } from './bench-util.mjs';

/** Resolves with the child and its URL once it printed it. */
export function startEmptyServer(root) {
  return new Promise((resolve, reject) => {
    const script = join(root, 'tools', 'scripts', 'bench-empty-server.cjs');
    const child = spawnOwned(process.execPath, [script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d) => {
      out += d.toString();
      const m = /LISTENING (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${script} exited ${code}: ${out.slice(-2000)}`)));
  });
}
