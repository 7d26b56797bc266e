// Typed upstream failures, mapped once at the edge: a JSON-RPC error the backend sent is
// passed on as is; a transport failure becomes a tool result flagged isError naming the backend.

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    readonly backend: string,
    readonly instance: string | undefined,
    /** The request surely never reached the backend: safe to send to another replica. */
    readonly retryable = false,
    /** The backend no longer knows our session (HTTP 404): re-initialize, then retry once. */
    readonly sessionLost = false,
  ) {
    super(message);
  }
}

/** A JSON-RPC error object returned by the backend itself. */
export class BackendRpcError extends Error {
  override readonly name = 'BackendRpcError';
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
  }
}

/** Error codes that mean the TCP connection was never made. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export function neverSent(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: string }).code;
    if (code && NOT_SENT.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
