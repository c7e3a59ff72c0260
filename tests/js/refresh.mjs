// Long-lived @statsig/js-client instances against a Lockgate server, driven one JSON command a
// line on stdin, one JSON answer a line on stdout:
//   {op: "init", api, key, users, gates, configs, experiments, layers: {name: [params]}}
//     makes a client per user (values kept in memory only) and initializes it;
//   {op: "refresh"}: each client fetches its user's values again (updateUserAsync), asking
//     for a delta from what it holds;
//   {op: "fresh"}: new clients, holding nothing (the values cached in memory forgotten),
//     initialize once and shut down;
// each answered with, per user, the evaluations, the update's source and the three maps held.
import { DataAdapterCachePrefix, Storage } from '@statsig/client-core';
import { StatsigClient } from '@statsig/js-client';
import readline from 'node:readline';

let setup = null;
let clients = [];

function client(user) {
  return new StatsigClient(setup.key, user, {
    networkConfig: { api: setup.api },
    loggingEnabled: 'disabled',
    disableStorage: true,
  });
}

function read(instance, details) {
  const gates = {};
  for (const name of setup.gates) {
    const gate = instance.getFeatureGate(name);
    gates[name] = { value: gate.value, ruleID: gate.ruleID };
  }
  const configs = {};
  for (const name of setup.configs) {
    const config = instance.getDynamicConfig(name);
    configs[name] = { value: config.value, ruleID: config.ruleID };
  }
  const experiments = {};
  for (const name of setup.experiments) {
    const experiment = instance.getExperiment(name);
    experiments[name] = {
      value: experiment.value,
      ruleID: experiment.ruleID,
      groupName: experiment.groupName ?? null,
    };
  }
  const layers = {};
  for (const [name, params] of Object.entries(setup.layers)) {
    const layer = instance.getLayer(name);
    const values = {};
    for (const param of params) values[param] = layer.get(param, null);
    layers[name] = { values, ruleID: layer.ruleID };
  }
  const held = instance.getContext().values ?? {};
  return {
    success: details.success,
    source: details.source,
    gates,
    configs,
    experiments,
    layers,
    held: {
      feature_gates: held.feature_gates,
      dynamic_configs: held.dynamic_configs,
      layer_configs: held.layer_configs,
    },
  };
}

async function run(command) {
  if (command.op === 'init') {
    setup = command;
    clients = command.users.map(client);
    const results = [];
    for (const instance of clients) results.push(read(instance, await instance.initializeAsync()));
    return results;
  }
  if (command.op === 'refresh') {
    const results = [];
    for (const [index, instance] of clients.entries()) {
      results.push(read(instance, await instance.updateUserAsync(setup.users[index])));
    }
    return results;
  }
  if (command.op === 'fresh') {
    // The values every client of this process cached (storage disabled: in memory, shared):
    // forgotten, so that the new clients hold nothing.
    for (const key of Storage.getAllKeys()) {
      if (key.startsWith(DataAdapterCachePrefix)) Storage.removeItem(key);
    }
    const results = [];
    for (const user of setup.users) {
      const instance = client(user);
      results.push(read(instance, await instance.initializeAsync()));
      await instance.shutdown();
    }
    return results;
  }
  throw new Error(`unknown op ${command.op}`);
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  process.stdout.write(JSON.stringify(await run(JSON.parse(line))) + '\n');
}
for (const instance of clients) await instance.shutdown();
