/**
 * Some of libvirt's error codes (`virErrorNumber`), for comparing with {@link LibvirtError.code}.
 * Any other code libvirt reports arrives as its number.
 */
export const LibvirtErrorCode = {
  /** An internal error (the test driver reports most refusals this way). */
  INTERNAL_ERROR: 1,
  /** The driver does not support this call. */
  NO_SUPPORT: 3,
  /** The hypervisor could not be reached. */
  NO_CONNECT: 5,
  /** The connection is invalid, or closed. */
  INVALID_CONN: 6,
  /** The domain object is invalid, or its connection closed. */
  INVALID_DOMAIN: 7,
  /** An argument was refused. */
  INVALID_ARG: 8,
  /** The hypervisor failed to carry out the command. */
  OPERATION_FAILED: 9,
  /** An XML description is not well formed or not valid. */
  XML_ERROR: 27,
  /** The domain already exists. */
  DOM_EXIST: 28,
  /** The operation is forbidden, for example on a read-only connection. */
  OPERATION_DENIED: 29,
  /** A system call failed. */
  SYSTEM_ERROR: 38,
  /** The RPC to the daemon failed. */
  RPC: 39,
  /** No such domain. */
  NO_DOMAIN: 42,
  /** Authentication failed. */
  AUTH_FAILED: 45,
  /** The operation does not apply in the domain's current state. */
  OPERATION_INVALID: 55,
} as const;

/** What a {@link LibvirtError} is made of: libvirt's `virError` fields. */
export interface LibvirtErrorInit {
  /** libvirt's `virErrorNumber`. */
  readonly code: number;
  /** libvirt's `virErrorDomain`: which part of libvirt reported it (`0` none, `12` the test driver, …). */
  readonly domain: number;
  /** libvirt's message. */
  readonly message: string;
  /** libvirt's `virErrorLevel`: `1` warning, `2` error. */
  readonly level?: number;
}

/**
 * A libvirt call failed. `code`, `domain`, `level` and `message` are libvirt's own
 * (`virGetLastError` on the calling thread, right after the call). When the call failed because
 * the event loop refused one of libvirt's watches or timers, `cause` holds what the loop threw.
 */
export class LibvirtError extends Error {
  /** libvirt's `virErrorNumber`; see {@link LibvirtErrorCode}. */
  readonly code: number;
  /** libvirt's `virErrorDomain`. */
  readonly domain: number;
  /** libvirt's `virErrorLevel`: `1` warning, `2` error. */
  readonly level: number;
  constructor(init: LibvirtErrorInit, options?: { cause?: unknown }) {
    super(init.message, options);
    this.name = "LibvirtError";
    this.code = init.code;
    this.domain = init.domain;
    this.level = init.level ?? 2;
  }
}

/**
 * The libvirt event implementation cannot switch loops or be unregistered now: libvirt still
 * holds watches or timers on the current loop (or their free callbacks have not run yet). Close
 * every connection, let the loop turn once, and try again.
 */
export class LibvirtEventImplBusyError extends Error {
  /** Always `"ERR_EVLOOP_LIBVIRT_BUSY"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_LIBVIRT_BUSY" as const;
  /** Watches libvirt holds on the current loop. */
  readonly handles: number;
  /** Timers libvirt holds on the current loop. */
  readonly timers: number;
  /** Removed watches and timers whose free callbacks have not run yet. */
  readonly pendingFrees: number;
  constructor(operation: string, held: { handles: number; timers: number; pendingFrees: number }) {
    super(
      `${operation}: libvirt still holds ${held.handles} watch(es) and ${held.timers} timer(s) on the current loop ` +
        `(${held.pendingFrees} free callback(s) pending). Close every connection and let the loop turn first.`,
    );
    this.name = "LibvirtEventImplBusyError";
    this.handles = held.handles;
    this.timers = held.timers;
    this.pendingFrees = held.pendingFrees;
  }
}
