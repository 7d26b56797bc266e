// A separate process that registers with Consul and then waits, so a test can kill it
// (its TTL lapses) or send it SIGTERM (the helper deregisters and exits) like a real backend.
// It only acts when the test passes its options in MCP_REGISTER_CHILD.
import { registerWithConsul, type RegisterOptions } from '../../src/registration/register.js';

const raw = process.env.MCP_REGISTER_CHILD;
if (raw !== undefined) {
  const options = JSON.parse(raw) as RegisterOptions;
  const registration = await registerWithConsul(options);
  process.stdout.write(`registered ${registration.serviceId}\n`);
}
