// Log events with the official Node core SDK (@statsig/statsig-node-core) against a Lockgate
// server, then flush them. Input on stdin: {base, key, users, event}; output: {"flushed": true}.
import { Statsig, StatsigUser } from '@statsig/statsig-node-core';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const statsig = new Statsig(input.key, {
  specsUrl: `${input.base}/v2/download_config_specs`,
  logEventUrl: `${input.base}/v1/log_event`,
  outputLogLevel: 'error',
});
await statsig.initialize();
input.users.forEach((userID, index) => {
  statsig.logEvent(new StatsigUser({ userID }), input.event, index, { sdk: 'node-core' });
});
await statsig.flushEvents();
await statsig.shutdown();
process.stdout.write(JSON.stringify({ flushed: true }));
