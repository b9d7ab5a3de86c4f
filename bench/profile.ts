/**
 * `npm run bench:profile`: where the Worker's CPU goes while runs of the seed
 * flow are started at concurrency 50. It samples the Worker isolate through
 * wrangler dev's inspector (port 9229) and prints the functions with the
 * most self time. Use it to find what to optimise; the figures themselves
 * come from `npm run bench`.
 */
import WebSocket from 'ws';
import { seedFlow, seedThroughput } from './scenarios';
import { startService } from './service';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

async function inspector(): Promise<(method: string, params?: object) => Promise<any>> {
  const [target] = (await (await fetch('http://127.0.0.1:9229/json')).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const socket = new WebSocket(target!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const pending = new Map<number, (result: unknown) => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  let nextId = 0;
  return (method, params = {}) =>
    new Promise((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
}

// In /dev/shm with the per-request log line off, as the benchmark's in-memory table.
const service = await startService({ state: 'shm', logLevel: 'warn' });
try {
  const flowId = await seedFlow(service);
  await seedThroughput(service, flowId, { connections: 10, durationMs: 2000 });
  const send = await inspector();
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  const result = await seedThroughput(service, flowId, { connections: 50, durationMs: 8000 });
  const { profile } = (await send('Profiler.stop')) as { profile: { nodes: ProfileNode[]; samples: number[] } };

  const samplesPerNode = new Map<number, number>();
  for (const id of profile.samples) samplesPerNode.set(id, (samplesPerNode.get(id) ?? 0) + 1);
  const selfTime = new Map<string, number>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url ? `${frame.url.split('/').pop()}:${frame.lineNumber + 1}` : ''}`;
    selfTime.set(name, (selfTime.get(name) ?? 0) + (samplesPerNode.get(node.id) ?? 0));
  }
  console.log(`\n${result.perSecond.toFixed(1)} runs/s while profiling (sampling slows the Worker down)\n`);
  console.log('self time  function');
  for (const [name, samples] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${((100 * samples) / profile.samples.length).toFixed(1).padStart(7)} %  ${name}`);
  }
} finally {
  await service.stop();
}
