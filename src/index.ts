// The package's public API: the gateway itself, its config, and the registration helper
// that Node backends call to join the fleet.
export { Gateway, type GatewayOptions } from './gateway.js';
export { loadConfig, parseConfig, ConfigError } from './config/load.js';
export { ConfigSchema, type Config, type ConfigInput } from './config/schema.js';
export { createLogger } from './log.js';
export { registerWithConsul, deregisterFromConsul, serviceDefinition, type RegisterOptions, type Registration } from './registration/register.js';
export { runRegisterSidecar, type SidecarOptions } from './registration/sidecar.js';
export { generateKey } from './auth/api-keys.js';
export { defineCompositeTool, type CompositeToolDefinition } from './composite/code.js';
export { CompositeEngine } from './composite/engine.js';
