// A Node client of the gateway's decision service (Envoy's ShouldRateLimit), built from the
// project's .proto files by @grpc/proto-loader at run time: an implementation independent
// of the C++ and Python stubs. Reads {"address", "proto_dir", "requests": [RateLimitRequest
// as JSON], "concurrency"} on stdin; writes the responses, in order, as a JSON array.
'use strict';

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

function readStdin() {
  return new Promise((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => { text += chunk; });
    process.stdin.on('end', () => resolve(JSON.parse(text)));
  });
}

async function main() {
  const input = await readStdin();
  const definition = protoLoader.loadSync('envoy/service/ratelimit/v3/rls.proto', {
    includeDirs: [input.proto_dir], keepCase: true, longs: String, enums: String,
    defaults: true, bytes: String,
  });
  const proto = grpc.loadPackageDefinition(definition);
  const Service = proto.envoy.service.ratelimit.v3.RateLimitService;
  const client = new Service(input.address, grpc.credentials.createInsecure());
  const deadline = new Date(Date.now() + 10000);
  await new Promise((resolve, reject) =>
    client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())));

  const results = new Array(input.requests.length);
  let next = 0;
  async function worker() {
    while (next < input.requests.length) {
      const i = next++;
      results[i] = await new Promise((resolve, reject) =>
        client.ShouldRateLimit(input.requests[i], { deadline: new Date(Date.now() + 10000) },
          (err, response) => (err ? reject(err) : resolve(response))));
    }
  }
  await Promise.all(Array.from({ length: input.concurrency || 1 }, worker));
  client.close();
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(`rls_client: ${err.stack || err}\n`);
  process.exit(1);
});
