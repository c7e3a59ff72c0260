// Evaluate gates and configs with the official @statsig/js-client against a Lockgate server.
// Input on stdin: {api, key, users, gates, configs, experiments?, layers?: {name: [params]},
// paramStores?: {store: {param: fallback}}, event}; output on stdout: one result per user.
import { StatsigClient } from '@statsig/js-client';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const results = [];
for (const user of input.users) {
  const client = new StatsigClient(input.key, user, {
    networkConfig: { api: input.api },
    loggingEnabled: 'always',
    disableStorage: true,
  });
  const details = await client.initializeAsync();
  const gates = {};
  for (const name of input.gates) {
    const gate = client.getFeatureGate(name);
    gates[name] = { value: gate.value, ruleID: gate.ruleID };
  }
  const configs = {};
  for (const name of input.configs) {
    const config = client.getDynamicConfig(name);
    configs[name] = { value: config.value, ruleID: config.ruleID };
  }
  const experiments = {};
  for (const name of input.experiments ?? []) {
    const experiment = client.getExperiment(name);
    experiments[name] = {
      value: experiment.value,
      ruleID: experiment.ruleID,
      groupName: experiment.groupName ?? null,
    };
  }
  const layers = {};
  for (const [name, params] of Object.entries(input.layers ?? {})) {
    const layer = client.getLayer(name);
    const values = {};
    for (const param of params) values[param] = layer.get(param, null);
    layers[name] = { values, ruleID: layer.ruleID };
  }
  const paramStores = {};
  for (const [name, params] of Object.entries(input.paramStores ?? {})) {
    const store = client.getParameterStore(name);
    const values = {};
    for (const [param, fallback] of Object.entries(params)) values[param] = store.get(param, fallback);
    paramStores[name] = values;
  }
  if (input.event) client.logEvent(input.event, 1, { source: 'js' });
  await client.flush();
  await client.shutdown();
  results.push({
    success: details.success,
    source: details.source,
    gates,
    configs,
    experiments,
    layers,
    paramStores,
  });
}
process.stdout.write(JSON.stringify(results));
