// Consul's HTTP payloads, parsed with zod at the boundary (the npm client types them `any`).
// Only the fields the gateway reads are declared; everything else passes through.
import { z } from 'zod';

/** GET /v1/catalog/services: service name -> tags (Consul 1.8 has no Meta or filter here). */
export const CatalogServicesSchema = z.record(z.string(), z.array(z.string()).nullable().transform((t) => t ?? []));

/** GET /v1/health/state/any: one row per check in the cluster (node checks have ServiceID ""). */
export const HealthCheckSchema = z.object({
  Node: z.string(),
  CheckID: z.string(),
  Status: z.string(),
  ServiceID: z.string().default(''),
  ServiceName: z.string().default(''),
  ServiceTags: z.array(z.string()).nullish(),
  ModifyIndex: z.number().optional(),
}).loose();
export const HealthChecksSchema = z.array(HealthCheckSchema);
export type HealthCheck = z.infer<typeof HealthCheckSchema>;

/** GET /v1/health/service/:name: instances with their node and all their checks. */
export const ServiceEntrySchema = z.object({
  Node: z.object({ Node: z.string(), Address: z.string() }).loose(),
  Service: z.object({
    ID: z.string(),
    Service: z.string(),
    Tags: z.array(z.string()).nullish().transform((t) => t ?? []),
    Address: z.string().default(''),
    Port: z.number(),
    Meta: z.record(z.string(), z.string()).nullish().transform((m) => m ?? {}),
  }).loose(),
  Checks: z.array(HealthCheckSchema).nullish().transform((c) => c ?? []),
}).loose();
export const ServiceEntriesSchema = z.array(ServiceEntrySchema);
export type ServiceEntry = z.infer<typeof ServiceEntrySchema>;
