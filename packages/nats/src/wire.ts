/**
 * The wire format between a NatsCaller (or a caller in any language) and a
 * bridge, version 1. packages/nats/README.md documents it for other languages;
 * change both together, and bump WIRE_VERSION for anything a version-1 peer
 * would misread.
 *
 *   request   subject  phoenix.<service>.<funcId>        (funcId in decimal)
 *             reply    an inbox of the caller
 *             headers  Phoenix-Version: 1
 *                      Phoenix-Priority: 0 | 1          (Normal | High)
 *                      Phoenix-Deadline: <ms since the Unix epoch> | 0 (no deadline)
 *             body     the request payload, as is
 *
 *   success   headers  none, or Phoenix-Func-Id: <n> when the handler set another func id
 *             body     the reply payload, as is
 *
 *   failure   headers  Phoenix-Version: 1, Phoenix-Error: <ERR_PHOENIX_... code>
 *             body     UTF-8 JSON: { code, message, fields, bytes } (see error-wire.ts)
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import { describeValue, MAX_FUNC_ID } from '@phoenix-ipc/shm-layout';

export const WIRE_VERSION = '1';
export const SUBJECT_ROOT = 'phoenix';

export const VERSION_HEADER = 'Phoenix-Version';
export const PRIORITY_HEADER = 'Phoenix-Priority';
export const DEADLINE_HEADER = 'Phoenix-Deadline';
export const ERROR_HEADER = 'Phoenix-Error';
export const FUNC_ID_HEADER = 'Phoenix-Func-Id';

/** Letters, digits, '-' and '_': a NATS subject token, and a valid NATS micro service name. */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** Returns `value` if it is a usable subject token, else throws ERR_PHOENIX_INVALID_ARGUMENT naming `what`. */
export function checkToken(value: unknown, what: string): string {
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new PhoenixError(
      'ERR_PHOENIX_INVALID_ARGUMENT',
      `${what} must be a NATS subject token of 1 to 128 letters, digits, '-' or '_' (no '.', '*', '>' or spaces), got ${describeValue(value)}`,
    );
  }
  return value;
}

/** The subject requests for `funcId` of `service` go to. */
export function requestSubject(service: string, funcId: number): string {
  return `${SUBJECT_ROOT}.${service}.${funcId}`;
}

/** The subject a bridge for `service` subscribes to: every func id. */
export function serviceWildcard(service: string): string {
  return `${SUBJECT_ROOT}.${service}.*`;
}

/** A decimal func id token: no sign, no leading zero, at most 10 digits (2^32-1 has 10). */
const DECIMAL = /^[1-9][0-9]{0,9}$/;

/**
 * The number a subject's func id token spells, or null when it is not a plain
 * decimal number from 1 to 2^32-1 (ten digits reach 9,999,999,999: none of
 * those past 2^32-1 can name a func id, which the protocol keeps in a u32).
 */
export function parseFuncIdToken(token: string): number | null {
  if (!DECIMAL.test(token)) return null;
  const funcId = Number(token);
  return funcId <= MAX_FUNC_ID ? funcId : null;
}

/** Byte length of the NATS header block holding `entries` (what nats.js sends: "NATS/1.0\r\n" k ": " v "\r\n"... "\r\n"). */
export function headerBlockBytes(entries: readonly (readonly [string, string])[]): number {
  let bytes = 'NATS/1.0\r\n\r\n'.length;
  for (const [key, value] of entries) bytes += Buffer.byteLength(key) + 2 + Buffer.byteLength(value) + 2;
  return bytes;
}

/** What is wrong with a request's headers, or null. */
export function requestHeadersProblem(hdrs: MsgHdrs | undefined): string | null {
  if (hdrs === undefined) {
    return `the request has no headers; wire protocol ${WIRE_VERSION} needs ${VERSION_HEADER}, ${PRIORITY_HEADER} and ${DEADLINE_HEADER}`;
  }
  const version = hdrs.get(VERSION_HEADER);
  if (version === '') return `the request has no ${VERSION_HEADER} header (this bridge speaks ${WIRE_VERSION})`;
  if (version !== WIRE_VERSION) {
    return `unsupported ${VERSION_HEADER} ${JSON.stringify(version)}: this bridge speaks ${WIRE_VERSION}`;
  }
  const priority = hdrs.get(PRIORITY_HEADER);
  if (priority !== '0' && priority !== '1') {
    return `header ${PRIORITY_HEADER} must be 0 (Normal) or 1 (High), got ${JSON.stringify(priority)}`;
  }
  const deadline = hdrs.get(DEADLINE_HEADER);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(deadline)) {
    return `header ${DEADLINE_HEADER} must be the deadline in milliseconds since the Unix epoch (0: none), got ${JSON.stringify(deadline)}`;
  }
  return null;
}
